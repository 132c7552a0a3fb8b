//! Deployed configuration: settings read from Secrets Manager (`SECRET_ARNS`), here served by the
//! same local moto server, with environment variables taking precedence. Its own test binary:
//! it sets process environment variables. Clients are configured as a function's are
//! ([`function_sdk_config`]).

use shared::adapters::config::{function_sdk_config, ConfigError, Settings};

/// The tests here take turns: each sets the process's environment.
static ENVIRONMENT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The environment Lambda gives a function, with the local server as every service's endpoint.
fn lambda_environment() -> aws_config::SdkConfig {
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::remove_var("AWS_ENDPOINT_URL_DYNAMODB");
    std::env::set_var("AWS_ENDPOINT_URL", testkit::endpoint());
    function_sdk_config().unwrap()
}

#[tokio::test]
async fn secrets_fill_settings_and_the_environment_wins() {
    let _turn = ENVIRONMENT.lock().await;
    let sdk = lambda_environment();
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!("sms-optout/test-{:x}", fastrand::u64(..));
    let vonage = secrets
        .create_secret()
        .name(format!("{name}/vonage"))
        .secret_string(r#"{"VONAGE_API_KEY":"key-from-secret","VONAGE_API_SECRET":"s3cret","CONFIG_TEST_OVERRIDDEN":"from-secret"}"#)
        .send()
        .await
        .unwrap();
    let keys = secrets
        .create_secret()
        .name(format!("{name}/api-keys"))
        .secret_string(
            r#"{"API_KEYS":"k1,k2","API_KEY_ROLES":[{"name":"website","role":"website","sha256":"ab"}],"IGNORED":7}"#,
        )
        .send()
        .await
        .unwrap();
    std::env::set_var(
        "SECRET_ARNS",
        format!("{}, {}", vonage.arn().unwrap(), keys.arn().unwrap()),
    );
    std::env::set_var("CONFIG_TEST_OVERRIDDEN", "from-env");
    let settings = Settings::load(&sdk).await.unwrap();
    assert_eq!(settings.get("VONAGE_API_KEY"), Some("key-from-secret"));
    assert_eq!(settings.get("VONAGE_API_SECRET"), Some("s3cret"));
    assert_eq!(settings.get("API_KEYS"), Some("k1,k2"));
    // A list in the secret is the setting's JSON text; a number is no setting.
    assert_eq!(
        settings.get("API_KEY_ROLES"),
        Some(r#"[{"name":"website","role":"website","sha256":"ab"}]"#)
    );
    assert_eq!(settings.get("IGNORED"), None);
    assert_eq!(settings.get("CONFIG_TEST_OVERRIDDEN"), Some("from-env"));
    assert!(!format!("{settings:?}").contains("s3cret"));

    // A secret that is not there stops the cold start with a clear error.
    std::env::set_var("SECRET_ARNS", format!("{name}/missing"));
    match Settings::load(&sdk).await {
        Err(ConfigError::Secret { arn, .. }) => assert!(arn.ends_with("/missing")),
        other => panic!("expected a secret error, got {other:?}"),
    }
    // A secret that is not a JSON object is refused too.
    let bad = secrets
        .create_secret()
        .name(format!("{name}/bad"))
        .secret_string("just-a-string")
        .send()
        .await
        .unwrap();
    std::env::set_var("SECRET_ARNS", bad.arn().unwrap());
    assert!(matches!(
        Settings::load(&sdk).await,
        Err(ConfigError::Secret { .. })
    ));
    std::env::remove_var("SECRET_ARNS");
}

/// A function's SDK clients find the region, the credentials and a service's own endpoint in the
/// environment, as the standard chain would, and a missing region stops the cold start.
#[tokio::test]
async fn a_function_configures_its_clients_from_the_environment() {
    let _turn = ENVIRONMENT.lock().await;
    lambda_environment();
    // The service's own variable wins over the general one.
    std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", testkit::endpoint());
    let dynamodb = aws_sdk_dynamodb::Client::new(&function_sdk_config().unwrap());
    let tables = dynamodb.list_tables().send().await;
    assert!(tables.is_ok(), "{tables:?}");
    // The general one alone reaches nothing here, so the read above went to the service's own.
    std::env::remove_var("AWS_ENDPOINT_URL_DYNAMODB");
    let elsewhere = aws_sdk_dynamodb::Client::new(&function_sdk_config().unwrap());
    assert!(elsewhere.list_tables().send().await.is_err());

    for name in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        std::env::remove_var(name);
    }
    assert!(matches!(
        function_sdk_config(),
        Err(ConfigError::Missing("AWS_REGION"))
    ));
}
