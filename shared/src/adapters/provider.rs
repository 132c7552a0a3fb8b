//! How the sender works with Vonage ([`ProviderMode`]; what each mode means: docs/operations.md
//! "Which mode"), and the provider's side of clearing an opt-out ([`Provider`]). A trait because
//! the three modes answer "may we clear this opt-out, and what does the provider still do?" in
//! three ways, and the resubscribe route and the opt-in-by-text flow must not care which.

use crate::adapters::config::{ConfigError, Settings};
use crate::adapters::vonage::{ManageConfirmation, VonageClient, VonageError};
use crate::domain::deadline::Deadline;
use crate::domain::msisdn::Msisdn;
use crate::domain::program::{Program, ProgramId, Programs};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::domain::program::ProviderMode;

impl ProviderMode {
    /// `PROVIDER_MODE`; unset means `short-code-api`.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        match settings.get("PROVIDER_MODE") {
            None => Ok(Self::default()),
            Some(value) => Self::ALL
                .iter()
                .copied()
                .find(|m| m.as_str().eq_ignore_ascii_case(value))
                .ok_or_else(|| ConfigError::Invalid {
                    name: "PROVIDER_MODE",
                    reason: "must be short-code-api, opt-out-assist or self-managed".into(),
                }),
        }
    }
}

/// What the provider's side says about clearing an opt-out.
#[derive(Debug, Clone)]
pub enum Lift {
    /// The provider lifted its block (`short-code-api`): its confirmation is the evidence.
    Lifted(ManageConfirmation),
    /// The provider keeps blocking the number until the person texts the opt-in keyword
    /// (`opt-out-assist`); our record may still be cleared, and the caller is told.
    StillBlocked,
    /// Nothing to lift (`self-managed`): our table is the only block.
    NothingToLift,
}

impl Lift {
    /// The provider's confirmation as JSON, the evidence a history entry keeps.
    pub fn confirmation(&self) -> Option<String> {
        match self {
            Lift::Lifted(confirmation) => serde_json::to_string(confirmation).ok(),
            _ => None,
        }
    }
}

/// The provider's side of clearing an opt-out, one implementation per [`ProviderMode`].
pub trait Provider: Send + Sync {
    fn mode(&self) -> ProviderMode;
    /// Ask the provider to stop blocking `msisdn`, finishing by `deadline`. An error means the
    /// opt-out must stay: the provider refused, or gave no answer we can trust.
    fn lift_block<'a>(
        &'a self,
        msisdn: &'a Msisdn,
        deadline: Deadline,
    ) -> BoxFuture<'a, Result<Lift, VonageError>>;
}

/// `short-code-api`: Vonage's manage call.
pub struct ShortCodeApi(pub VonageClient);

impl Provider for ShortCodeApi {
    fn mode(&self) -> ProviderMode {
        ProviderMode::ShortCodeApi
    }
    fn lift_block<'a>(
        &'a self,
        msisdn: &'a Msisdn,
        deadline: Deadline,
    ) -> BoxFuture<'a, Result<Lift, VonageError>> {
        Box::pin(async move {
            self.0
                .manage_opt_in(msisdn, deadline)
                .await
                .map(Lift::Lifted)
        })
    }
}

/// `opt-out-assist`: there is no API to lift Vonage's block.
pub struct OptOutAssist;

impl Provider for OptOutAssist {
    fn mode(&self) -> ProviderMode {
        ProviderMode::OptOutAssist
    }
    fn lift_block<'a>(
        &'a self,
        _: &'a Msisdn,
        _: Deadline,
    ) -> BoxFuture<'a, Result<Lift, VonageError>> {
        Box::pin(async { Ok(Lift::StillBlocked) })
    }
}

/// `self-managed`: nothing at Vonage blocks the number.
pub struct SelfManaged;

impl Provider for SelfManaged {
    fn mode(&self) -> ProviderMode {
        ProviderMode::SelfManaged
    }
    fn lift_block<'a>(
        &'a self,
        _: &'a Msisdn,
        _: Deadline,
    ) -> BoxFuture<'a, Result<Lift, VonageError>> {
        Box::pin(async { Ok(Lift::NothingToLift) })
    }
}

/// `short-code-api` needs the Vonage client's settings; the others nothing.
pub fn from_settings(settings: &Settings) -> Result<Arc<dyn Provider>, ConfigError> {
    for_mode(ProviderMode::from_settings(settings)?, settings)
}

fn for_mode(mode: ProviderMode, settings: &Settings) -> Result<Arc<dyn Provider>, ConfigError> {
    Ok(match mode {
        ProviderMode::ShortCodeApi => {
            Arc::new(ShortCodeApi(VonageClient::from_settings(settings)?))
        }
        ProviderMode::OptOutAssist => Arc::new(OptOutAssist),
        ProviderMode::SelfManaged => Arc::new(SelfManaged),
    })
}

/// Each program's provider: its own `provider_mode`'s, else `PROVIDER_MODE`'s. One per mode in
/// use, so Vonage's credentials are needed only where a program's mode calls Vonage.
#[derive(Clone)]
pub struct Providers {
    default: Arc<dyn Provider>,
    by_program: HashMap<ProgramId, Arc<dyn Provider>>,
}

impl Providers {
    /// One provider for every program.
    pub fn single(provider: Arc<dyn Provider>) -> Self {
        Self {
            default: provider,
            by_program: HashMap::new(),
        }
    }

    pub fn from_settings(settings: &Settings, programs: &Programs) -> Result<Self, ConfigError> {
        let deployment = ProviderMode::from_settings(settings)?;
        let mut by_mode: HashMap<ProviderMode, Arc<dyn Provider>> = HashMap::new();
        let mut by_program = HashMap::new();
        for program in programs.all() {
            let mode = program.mode(deployment);
            let provider = match by_mode.get(&mode) {
                Some(provider) => provider.clone(),
                None => {
                    let provider = for_mode(mode, settings)?;
                    by_mode.insert(mode, provider.clone());
                    provider
                }
            };
            by_program.insert(program.id.clone(), provider);
        }
        let default = by_program
            .get(&programs.default_program().id)
            .cloned()
            .ok_or(ConfigError::Missing("PROGRAMS"))?;
        Ok(Self {
            default,
            by_program,
        })
    }

    pub fn for_program(&self, program: &Program) -> &dyn Provider {
        self.by_program
            .get(&program.id)
            .unwrap_or(&self.default)
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_from_settings() {
        let mode = |v: Option<&str>| {
            let settings = Settings::from_pairs(v.map(|v| ("PROVIDER_MODE", v)));
            ProviderMode::from_settings(&settings).map_err(|e| e.to_string())
        };
        assert_eq!(mode(None), Ok(ProviderMode::ShortCodeApi));
        assert_eq!(mode(Some("self-managed")), Ok(ProviderMode::SelfManaged));
        assert_eq!(mode(Some("Opt-Out-Assist")), Ok(ProviderMode::OptOutAssist));
        assert_eq!(mode(Some("short-code-api")), Ok(ProviderMode::ShortCodeApi));
        assert!(mode(Some("twilio")).is_err_and(|e| e.contains("PROVIDER_MODE")));
        assert!(ProviderMode::SelfManaged.replies_by_default());
        assert!(!ProviderMode::OptOutAssist.replies_by_default());
        assert!(!ProviderMode::ShortCodeApi.replies_by_default());
        assert!(ProviderMode::ShortCodeApi.has_opt_out_list());
        assert!(!ProviderMode::SelfManaged.has_opt_out_list());
    }

    #[tokio::test]
    async fn the_modes_without_an_api_answer_without_calling_anything() {
        let m = Msisdn::from_provider("14155550100").unwrap_or_else(|e| panic!("{e}"));
        let deadline = Deadline::at(std::time::Instant::now());
        assert!(matches!(
            OptOutAssist.lift_block(&m, deadline).await,
            Ok(Lift::StillBlocked)
        ));
        assert!(matches!(
            SelfManaged.lift_block(&m, deadline).await,
            Ok(Lift::NothingToLift)
        ));
        let settings = Settings::from_pairs([("PROVIDER_MODE", "self-managed")]);
        assert!(from_settings(&settings).is_ok_and(|p| p.mode() == ProviderMode::SelfManaged));
        // short-code-api without credentials is refused at start-up.
        assert!(from_settings(&Settings::default()).is_err());
    }
}
