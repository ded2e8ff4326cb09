//! A Klong function applied to every message: the engine of `ws_feed_klong`.
//!
//! JSON becomes Klong values through the klong crate's `json` conversions (objects →
//! dictionaries, arrays → lists/vectors, numbers → integers/reals, strings → strings) and the
//! result goes back the same way (dictionary → object, vector → array, string/symbol →
//! string). The interpreter is not `Send`, so a [`Handler`] lives on one thread.

use crate::kjson::KlongJson;
use klong::{Capabilities, Klong, Value};
use std::time::{Duration, Instant};

/// Why loading or running a handler failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The message is not JSON.
    #[error("malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
    /// The script did not evaluate.
    #[error("cannot load the handler script: {0}")]
    Load(String),
    /// The script does not define the function to call.
    #[error("the script does not define a function {0:?}; define e.g. {0}::{{x}}")]
    Missing(String),
    /// The function failed on a message.
    #[error("{func} failed: {error}")]
    Call {
        /// The function's name.
        func: String,
        /// The interpreter's message.
        error: String,
    },
}

/// A loaded Klong script and the name of the function called per message.
pub struct Handler {
    k: Klong,
    func: String,
    timeout: Option<Duration>,
    conv: KlongJson,
}

impl Handler {
    /// Evaluate `source` in a fresh interpreter with `caps` and check that it defines `func`.
    pub fn load(source: &str, func: &str, caps: Capabilities) -> Result<Handler, HandlerError> {
        let mut k = Klong::with_capabilities(caps);
        k.eval(source)
            .map_err(|e| HandlerError::Load(e.to_string()))?;
        match k.get(func) {
            Some(Value::Func(_)) => {}
            _ => return Err(HandlerError::Missing(func.to_string())),
        }
        Ok(Handler {
            k,
            func: func.to_string(),
            timeout: None,
            conv: KlongJson::new(),
        })
    }

    /// Stop any single call that runs longer than `t` (a runaway handler must not stall the
    /// feed forever).
    pub fn set_timeout(&mut self, t: Option<Duration>) {
        self.timeout = t;
    }

    /// Call the function on one message. `Ok(None)` means an empty result: nothing to publish.
    pub fn call(
        &mut self,
        msg: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, HandlerError> {
        self.apply(klong::json::from_json(msg))
    }

    /// Call the function on one message given as JSON text, converted to Klong in one pass
    /// (no intermediate JSON value). Text that is not JSON is [`HandlerError::Malformed`].
    pub fn call_text(&mut self, text: &str) -> Result<Option<serde_json::Value>, HandlerError> {
        let arg = self.conv.parse(text)?;
        self.apply(arg)
    }

    fn apply(&mut self, arg: Value) -> Result<Option<serde_json::Value>, HandlerError> {
        self.k
            .set_deadline(self.timeout.map(|t| Instant::now() + t));
        let r = self.k.call(&self.func, &[arg]);
        self.k.set_deadline(None);
        let v = r.map_err(|e| HandlerError::Call {
            func: self.func.clone(),
            error: e.to_string(),
        })?;
        let j = klong::json::to_json(&v);
        let empty = match &j {
            serde_json::Value::Null => true,
            serde_json::Value::Array(a) => a.is_empty(),
            serde_json::Value::Object(o) => o.is_empty(),
            serde_json::Value::String(s) => s.is_empty(),
            _ => false,
        };
        Ok(if empty { None } else { Some(j) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AVG: &str = r#"onmsg::{[a d];d:::{};d,["ev" "AVG"];a::{x?"c"}'x;d,"a",+/a%#a}"#;

    #[test]
    fn avg_handler_computes_the_mean_close() {
        let mut h = Handler::load(AVG, "onmsg", Capabilities::none()).unwrap();
        let msg = json!([{"ev":"AM","sym":"A","c":10.5},{"ev":"AM","sym":"B","c":11.5},{"ev":"AM","sym":"C","c":12}]);
        let out = h.call(&msg).unwrap().unwrap();
        assert_eq!(out["ev"], "AVG");
        let a = out["a"].as_f64().unwrap();
        assert!((a - 34.0 / 3.0).abs() < 1e-9, "{out}");
    }

    #[test]
    fn text_and_value_calls_agree() {
        let mut h = Handler::load(AVG, "onmsg", Capabilities::none()).unwrap();
        let text = r#"[{"ev":"AM","sym":"A","c":10.5},{"ev":"AM","sym":"B","c":11}]"#;
        let by_value = h.call(&serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(h.call_text(text).unwrap(), by_value);
        assert!(matches!(
            h.call_text("[1,"),
            Err(HandlerError::Malformed(_))
        ));
    }

    #[test]
    fn errors_are_reported_and_the_handler_stays_usable() {
        let mut h = Handler::load(AVG, "onmsg", Capabilities::none()).unwrap();
        // A string is not a list of bars: the handler fails on this message...
        assert!(h.call(&json!("not a list")).is_err());
        // ...and still works on the next.
        let out = h.call(&json!([{"ev":"AM","c":2}])).unwrap().unwrap();
        assert_eq!(out["a"].as_f64(), Some(2.0));
    }

    #[test]
    fn empty_results_publish_nothing() {
        let mut h = Handler::load("onmsg::{x;[]}", "onmsg", Capabilities::none()).unwrap();
        assert_eq!(h.call(&json!([1])).unwrap(), None);
        let mut h = Handler::load("onmsg::{x;:{}}", "onmsg", Capabilities::none()).unwrap();
        assert_eq!(h.call(&json!([1])).unwrap(), None);
    }

    #[test]
    fn filtering_handler_passes_a_subset() {
        let src = r#"onmsg::{x@&{(x?"c")>10}'x}"#;
        let mut h = Handler::load(src, "onmsg", Capabilities::none()).unwrap();
        let out = h
            .call(&json!([{"sym":"A","c":5},{"sym":"B","c":15}]))
            .unwrap()
            .unwrap();
        assert_eq!(out, json!([{"sym":"B","c":15}]));
    }

    #[test]
    fn missing_function_and_bad_script_are_load_errors() {
        assert!(matches!(
            Handler::load("x::1", "onmsg", Capabilities::none()),
            Err(HandlerError::Missing(_))
        ));
        assert!(matches!(
            Handler::load("onmsg::{", "onmsg", Capabilities::none()),
            Err(HandlerError::Load(_))
        ));
    }

    #[test]
    fn runaway_handlers_time_out() {
        let mut h = Handler::load("onmsg::{{1}:~0}", "onmsg", Capabilities::none()).unwrap();
        h.set_timeout(Some(Duration::from_millis(50)));
        assert!(h.call(&json!([1])).is_err());
    }
}

#[cfg(test)]
mod script_tests {
    use super::*;
    use serde_json::json;

    fn load(src: &str) -> Handler {
        Handler::load(src, "onmsg", Capabilities::none()).unwrap()
    }

    #[test]
    fn kg_avg_is_the_original_handler() {
        let src = include_str!("../../../kg/avg.kg");
        assert!(src.contains(r#"onmsg::{[a d];d:::{};d,["ev" "AVG"];a::{x?"c"}'x;d,"a",+/a%#a}"#));
        let out = load(src)
            .call(&json!([{"ev":"AM","sym":"A","c":1},{"ev":"AM","sym":"B","c":2.5}]))
            .unwrap()
            .unwrap();
        assert_eq!(out, json!({"ev":"AVG","a":1.75}));
    }

    #[test]
    fn kg_tail_republishes_its_input() {
        let mut h = load(include_str!("../../../kg/tail.kg"));
        h.k.capture_output();
        let msg = json!([{"ev":"AM","sym":"A","c":1}]);
        assert_eq!(h.call(&msg).unwrap(), Some(msg));
        assert!(h.k.take_output().contains("sym"));
    }

    #[test]
    fn kg_vwap_accumulates_per_symbol() {
        let mut h = load(include_str!("../../../kg/vwap.kg"));
        let out = h
            .call(&json!([
                {"ev":"AM","sym":"A","v":100,"vw":10.0,"e":1},
                {"ev":"AM","sym":"B","v":50,"vw":20.0,"e":1}
            ]))
            .unwrap()
            .unwrap();
        assert_eq!(
            out[0],
            json!({"ev":"VWAP","sym":"A","vw":10.0,"v":100,"e":1})
        );
        assert_eq!(out[1]["vw"].as_f64(), Some(20.0));
        let out = h
            .call(&json!([{"ev":"AM","sym":"A","v":300,"vw":12.0,"e":2}]))
            .unwrap()
            .unwrap();
        // (100*10 + 300*12) / 400 = 11.5
        assert_eq!(
            out,
            json!([{"ev":"VWAP","sym":"A","vw":11.5,"v":400,"e":2}])
        );
    }
}
