//! Deployed configuration: settings read from Secrets Manager (`SECRET_ARNS`), here served by the
//! same local moto server, with environment variables taking precedence. Its own test binary:
//! it sets process environment variables.

use aws_sdk_dynamodb::config::{Credentials, Region};
use shared::adapters::config::{ConfigError, Settings};

async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(testkit::endpoint())
        .http_client(shared::adapters::tls::sdk_http_client())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

#[tokio::test]
async fn secrets_fill_settings_and_the_environment_wins() {
    let sdk = sdk_config().await;
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
        .secret_string(r#"{"API_KEYS":"k1,k2"}"#)
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
