//! The subscription handshake shared by every feeder that serves websocket clients.
//!
//! Clients send `{"action":"auth","params":"TOKEN"}` and `{"action":"subscribe",
//! "params":"AM.*"}`; the server answers with status events (as one-element arrays, like
//! every other message). [`Session`] is the per-connection state machine, kept free of I/O so
//! it can be tested directly.

use crate::pattern::Filter;
use serde::Deserialize;

#[derive(Deserialize)]
struct Request {
    action: String,
    #[serde(default)]
    params: serde_json::Value,
}

/// A status event as a message: `[{"ev":"status","status":..,"message":..}]`.
pub fn status(status: &str, message: &str) -> String {
    serde_json::json!([{"ev": "status", "status": status, "message": message}]).to_string()
}

/// What the connection should do after a client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send this reply; nothing else changes.
    Reply(String),
    /// Send this reply; the session's filter or authentication changed (re-register).
    Changed(String),
    /// Send this reply, then close the connection (failed authentication).
    Refuse(String),
}

/// One client's protocol state.
#[derive(Debug, Clone)]
pub struct Session {
    token: Option<String>,
    authed: bool,
    filter: Filter,
    subscribed: bool,
}

impl Session {
    /// A new session; with `token`, the client must authenticate before receiving data.
    pub fn new(token: Option<String>) -> Session {
        Session {
            authed: token.is_none(),
            token,
            filter: Filter::All,
            subscribed: false,
        }
    }

    /// Whether the client may receive data.
    pub fn authed(&self) -> bool {
        self.authed
    }

    /// What the client receives (everything until its first subscribe).
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Handle one text message from the client.
    pub fn handle(&mut self, text: &str) -> Outcome {
        let req: Request = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Reply(status(
                    "error",
                    &format!(
                        "cannot parse request ({e}); send {{\"action\":\"subscribe\",\"params\":\"AM.*\"}}"
                    ),
                ));
            }
        };
        let params = match &req.params {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        match req.action.as_str() {
            "auth" => match &self.token {
                None => Outcome::Reply(status("auth_success", "authenticated")),
                Some(t) if *t == params => {
                    let was = self.authed;
                    self.authed = true;
                    let reply = status("auth_success", "authenticated");
                    if was {
                        Outcome::Reply(reply)
                    } else {
                        Outcome::Changed(reply)
                    }
                }
                Some(_) => Outcome::Refuse(status("auth_failed", "authentication failed")),
            },
            "subscribe" => {
                if !self.authed {
                    return Outcome::Reply(status(
                        "error",
                        "not authenticated; send {\"action\":\"auth\",\"params\":\"TOKEN\"} first",
                    ));
                }
                match Filter::parse(&params) {
                    Ok(f) => {
                        if self.subscribed {
                            self.filter.extend(f);
                        } else {
                            self.filter = f;
                            self.subscribed = true;
                        }
                        Outcome::Changed(status(
                            "success",
                            &format!("subscribed to: {}", self.filter),
                        ))
                    }
                    Err(e) => Outcome::Reply(status("error", &e.to_string())),
                }
            }
            other => Outcome::Reply(status(
                "error",
                &format!("unknown action {other:?}; use \"auth\" or \"subscribe\""),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    fn reply(o: &Outcome) -> serde_json::Value {
        match o {
            Outcome::Reply(s) | Outcome::Changed(s) | Outcome::Refuse(s) => parse(s)[0].clone(),
        }
    }

    #[test]
    fn subscribe_narrows_then_widens() {
        let mut s = Session::new(None);
        assert!(s.filter().is_all());
        let o = s.handle(r#"{"action":"subscribe","params":"AM.AAPL"}"#);
        assert!(matches!(o, Outcome::Changed(_)));
        assert_eq!(reply(&o)["status"], "success");
        assert_eq!(reply(&o)["message"], "subscribed to: AM.AAPL");
        s.handle(r#"{"action":"subscribe","params":"AM.MSFT"}"#);
        assert_eq!(s.filter().to_string(), "AM.AAPL,AM.MSFT");
    }

    #[test]
    fn invalid_pattern_is_an_error_status() {
        let mut s = Session::new(None);
        let o = s.handle(r#"{"action":"subscribe","params":"AAPL"}"#);
        assert_eq!(reply(&o)["status"], "error");
        assert!(s.filter().is_all());
    }

    #[test]
    fn token_gates_data_and_subscriptions() {
        let mut s = Session::new(Some("k".into()));
        assert!(!s.authed());
        let o = s.handle(r#"{"action":"subscribe","params":"AM.*"}"#);
        assert_eq!(reply(&o)["status"], "error");
        let o = s.handle(r#"{"action":"auth","params":"k"}"#);
        assert!(matches!(o, Outcome::Changed(_)));
        assert_eq!(reply(&o)["status"], "auth_success");
        assert_eq!(reply(&o)["message"], "authenticated");
        assert!(s.authed());
    }

    #[test]
    fn wrong_token_is_refused() {
        let mut s = Session::new(Some("k".into()));
        let o = s.handle(r#"{"action":"auth","params":"nope"}"#);
        assert!(matches!(o, Outcome::Refuse(_)));
        assert!(!s.authed());
    }

    #[test]
    fn garbage_and_unknown_actions_get_error_status() {
        let mut s = Session::new(None);
        for bad in ["{", "[]", r#"{"action":"dance"}"#] {
            let o = s.handle(bad);
            assert_eq!(reply(&o)["status"], "error", "{bad}");
        }
    }
}
