//! Embedding API: evaluation, variables, natives, output capture, capabilities, limits,
//! interruption, JSON, and robustness against hostile input.

use klong::{Capabilities, ErrorKind, Klong, Value, readable};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn ev(k: &mut Klong, s: &str) -> String {
    match k.eval(s) {
        Ok(v) => readable(&v),
        Err(e) => format!("!{}", e.msg),
    }
}

#[test]
fn eval_get_set_call() {
    let mut k = Klong::new();
    assert_eq!(ev(&mut k, "+/!10"), "45");
    k.set("v", Value::ints(vec![1, 2, 3]));
    assert_eq!(ev(&mut k, "v*2"), "[2 4 6]");
    ev(&mut k, "sq::{x*x}");
    let r = k.call("sq", &[Value::Int(7)]).unwrap();
    assert_eq!(readable(&r), "49");
    assert!(matches!(k.get("sq"), Some(Value::Func(_))));
    assert!(k.get("nosuch").is_none());
    let e = k.call("nosuch", &[]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Undefined);
}

#[test]
fn printer_forms() {
    let mut k = Klong::new();
    for (src, want) in [
        ("1.0", "1.0"),
        ("0.001", "0.001"),
        ("1e18", "1.0e+18"),
        ("1.5e-30", "1.5e-30"),
        ("123456789.5", "123456789.5"),
        ("10%4", "2.5"),
        ("\"a\"\"b\"", "\"a\"\"b\""),
        ("0cx", "0cx"),
        (":foo", ":foo"),
        ("[1 [2 \"x\"] :y 0cz]", "[1 [2 \"x\"] :y 0cz]"),
        (":{[1 2] [:a \"x\"]}", ":{[1 2] [:a \"x\"]}"),
        ("{x+y}", ":dyad"),
        ("1%0", ":undefined"),
        ("2^70", "1180591620717411303424"),
        ("-0.0", "0.0"),
    ] {
        assert_eq!(ev(&mut k, src), want, "{src}");
    }
    assert_eq!(klong::display(&k.eval("[\"a\" 0cb]").unwrap()), "[a b]");
}

#[test]
fn parser_tricky_cases() {
    let mut k = Klong::new();
    for (src, want) in [
        ("1 -1", "0"),
        ("-1+2", "-3"),
        ("2*3+4", "14"),
        ("[1 -1 a +]", "[1 -1 :a :+]"),
        ("A:::foo;A", ":foo"),
        ("1:\"comment\"+2", "3"),
        ("f::{x+y};f(;1)(2)", "3"),
        ("{[a];a::1;a}()", "1"),
        ("{[1 2]}()", "[1 2]"),
        ("0x1F", "31"),
        ("1.e5", "100000.0"),
        (":[0;1:|1;2;3]", "2"),
    ] {
        assert_eq!(ev(&mut k, src), want, "{src}");
    }
    for bad in [
        "1 2", "1;;2", "{}", "(1", "[1 2", "\"abc", "f(1)(2)", "1.5.3", ")", ":[",
    ] {
        let r = k.eval(bad);
        assert!(r.is_err(), "{bad} should fail");
    }
    assert_eq!(k.eval("1+\n2").unwrap_err().kind, ErrorKind::Syntax);
}

#[test]
fn errors_name_the_operation() {
    let mut k = Klong::new();
    assert_eq!(ev(&mut k, "\"a\"+1"), "!plus: type error: [\"a\" 1]");
    assert_eq!(
        ev(&mut k, "[1 2]+[1 2 3]"),
        "!plus: shape error: [[1 2] [1 2 3]]"
    );
    assert_eq!(ev(&mut k, "5:%0"), "!division by zero");
    assert_eq!(ev(&mut k, "[1 2]@5"), "!index: range error: 5");
    assert_eq!(ev(&mut k, "undefinedname"), "!undefined: undefinedname");
    assert_eq!(ev(&mut k, "{x}(1;2)"), "!wrong arity: :monad");
    for (src, want) in [
        ("2#5", "!take: type error: [2 5]"),
        ("[1 2]@1.5", "!index: type error: [[1 2] 1.5]"),
        ("[1 2]:=[0 5]", "!amend: range error"),
        ("[2 1]:_[1 2 3]", "!cut: range error"),
        ("0:#[1 2]", "!split: range error"),
        ("[0 2]:^[1 2]", "!reshape: range error"),
        ("!-1", "!enumerate: domain error: -1"),
        ("&[-1]", "!expand: range error"),
        ("1{x}:~2", "!while: type error"),
        ("1.5{x}:*2", "!iterate: type error"),
        (",:\\[1 2]", "!wrong adverb context: ::\\"),
        ("_\"a\"", "!floor: type error: \"a\""),
        ("#:a", "!size: type error: :a"),
        ("+5", "!transpose: type error: 5"),
        ("=5", "!group: type error: 5"),
        ("<5", "!grade-up: type error: 5"),
        ("\"abc\"?1", "!find: type error: [\"abc\" 1]"),
        ("1:$2", "!form: expected string, got: 2"),
        ("[1 2]:-[9 5]", "!amend-in-depth: range error"),
        ("[[1 2]]:@[0 5]", "!index-in-depth: shape error"),
        (":{[1 2]},[:{} 1]", "!bad dictionary key: :{}"),
        (
            ".module(:a);.module(:b)",
            "!nested module; contained in: :a",
        ),
    ] {
        assert_eq!(ev(&mut k, src), want, "{src}");
    }
}

#[test]
fn natives_and_output_capture() {
    let mut k = Klong::new();
    k.register(".twice", 1, |a| {
        Ok(match &a[0] {
            Value::Int(i) => Value::Int(i * 2),
            other => other.clone(),
        })
    });
    assert_eq!(ev(&mut k, ".twice(21)"), "42");
    assert_eq!(ev(&mut k, ".twice'[1 2]"), "[2 4]");
    k.capture_output();
    ev(&mut k, ".p(\"hi\");.d(1);.w(\"x\")");
    assert_eq!(k.take_output(), "hi\n1\"x\"");
}

#[test]
fn variadic_natives_take_only_their_arities() {
    let mut k = Klong::new();
    k.register_variadic(".n", 1, 3, |a| Ok(Value::Int(a.len() as i64)));
    assert_eq!(ev(&mut k, ".n(7)"), "1");
    assert_eq!(ev(&mut k, ".n(7;8)"), "2");
    assert_eq!(ev(&mut k, ".n(7;8;9)"), "3");
    assert_eq!(ev(&mut k, ".n'[1 2]"), "[1 1]");
    assert_eq!(k.eval(".n()").unwrap_err().kind, ErrorKind::Arity);
}

#[test]
fn capabilities_default_to_none() {
    let mut k = Klong::new();
    for src in [
        ".ic(\"/etc/passwd\")",
        ".oc(\"/tmp/klong-should-not-exist\")",
        ".df(\"/tmp/x\")",
        ".l(\"x\")",
        ".sys(\"true\")",
        ".x(0)",
        ".rl()",
    ] {
        let e = k.eval(src).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Permission, "{src}");
    }
    let mut all = Klong::with_capabilities(Capabilities::all());
    let path = std::env::temp_dir().join(format!("klong-cap-{}.txt", std::process::id()));
    let p = path.to_string_lossy().to_string();
    let prog = format!(
        ".tc(.oc(\"{p}\"));.w([1 2 \"x\"]);.cc(.tc(0));.fc(.ic(\"{p}\"));r::.r();.cc(.fc(0));.df(\"{p}\");r"
    );
    assert_eq!(ev(&mut all, &prog), "[1 2 \"x\"]");
    assert!(!path.exists());
}

#[test]
fn interrupt_flag_stops_endless_loop() {
    let mut k = Klong::new();
    let flag = k.interrupt_handle();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        flag.store(true, Ordering::Relaxed);
    });
    let e = k.eval("{x+1}:~1").unwrap_err();
    setter.join().unwrap();
    assert_eq!(e.kind, ErrorKind::Interrupted);
    // The interpreter stays usable.
    assert_eq!(ev(&mut k, "1+1"), "2");
}

#[test]
fn deadline_stops_loops_without_lambdas() {
    let mut k = Klong::new();
    k.set_deadline(Some(Instant::now() + Duration::from_millis(50)));
    let e = k.eval("-:~1").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Interrupted);
    k.set_deadline(None);
    assert_eq!(ev(&mut k, "2+2"), "4");
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let mut k = Klong::new();
    let e = k.eval("f::{1+f(x)};f(1)").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
    assert_eq!(ev(&mut k, "g::{:[x=0;0;1+g(x-1)]};g(100)"), "100");
    // Deeply nested source text is rejected cleanly too.
    let src = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(k.eval(&src).is_err());
    let src = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(k.eval(&src).is_err());
}

#[test]
fn huge_allocations_are_refused() {
    let mut k = Klong::new();
    for src in [
        "!10000000000",
        "10000000000#[1 2]",
        "&10000000000",
        "[100000 100000]:^1",
        "2^1000000000",
        "100000000000$1",
    ] {
        let e = k.eval(src).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Limit, "{src}");
    }
}

/// A tiny deterministic generator for fuzzing.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn fuzzed_source_never_panics() {
    let alphabet: Vec<char> = "0123456789.:;[]{}()!#$%&*+,-<=>?@^_|~'/\\\"xyzabf e\n:0c"
        .chars()
        .collect();
    let pieces = [
        "{x}", "{x+y}", "!5", "[1 2 3]", ":{[1 2]}", "\"ab\"", "0ca", "1.5", "[]", "\"\"",
        ":[1;2;3]", "f::", "f(", ")", "'", "/", "\\", ":~", ":*", "\\~", "+", "-", ",", "#", "@",
        "?", "_", "^", "&", "|", "<", ">", "=", ":=", ":@", ":^", ":#", ":_", ":$", ":+", ":-",
        "$", "%", ":%", "~", "*",
    ];
    let mut rng = Lcg(42);
    let mut k = Klong::new();
    k.set_max_alloc(1 << 20);
    for _ in 0..3000 {
        let mut src = String::new();
        let n = 1 + rng.next() % 12;
        for _ in 0..n {
            if rng.next().is_multiple_of(3) {
                src.push(alphabet[(rng.next() as usize) % alphabet.len()]);
            } else {
                src.push_str(pieces[(rng.next() as usize) % pieces.len()]);
            }
        }
        k.set_deadline(Some(Instant::now() + Duration::from_millis(200)));
        let _ = k.eval(&src);
    }
}

#[cfg(feature = "json")]
#[test]
fn json_round_trip_and_onmsg_handler() {
    use klong::json::{from_json, to_json};
    let j: serde_json::Value = serde_json::from_str(
        r#"{"a":[1,2,3],"b":"x","c":{"d":1.5},"e":[1,"y"],"f":null,"g":true}"#,
    )
    .unwrap();
    let v = from_json(&j);
    assert_eq!(
        readable(&v),
        r#":{["a" [1 2 3]] ["b" "x"] ["c" :{["d" 1.5]}] ["e" [1 "y"]] ["f" :undefined] ["g" 1]}"#
    );
    let back = to_json(&v);
    assert_eq!(back["a"], serde_json::json!([1, 2, 3]));
    assert_eq!(back["c"]["d"], serde_json::json!(1.5));
    assert_eq!(to_json(&Value::sym("s")), serde_json::json!("s"));

    let mut k = Klong::new();
    k.eval(r#"onmsg::{[a d];d:::{};d,["ev" "AVG"];a::{x?"c"}'x;d,"a",+/a%#a}"#)
        .unwrap();
    let bars: serde_json::Value =
        serde_json::from_str(r#"[{"t":1,"c":10.0},{"t":2,"c":11.0},{"t":3,"c":15.0}]"#).unwrap();
    let r = k.call("onmsg", &[from_json(&bars)]).unwrap();
    let out = to_json(&r);
    assert_eq!(out["ev"], serde_json::json!("AVG"));
    assert_eq!(out["a"], serde_json::json!(12.0));
}

#[test]
fn fused_forms_keep_errors() {
    let mut k = Klong::new();
    for (prog, msg) in [
        ("+/[1 2]*[1 2 3]", "times: shape error"),
        ("+/!-1", "enumerate: domain error"),
        ("+/!2.5", "enumerate: type error"),
    ] {
        let e = k.eval(prog).unwrap_err();
        assert!(e.to_string().contains(msg), "{prog}: {e}");
    }
    k.set_max_alloc(1000);
    assert_eq!(k.eval("+/!1001").unwrap_err().kind, ErrorKind::Limit);
    assert_eq!(readable(&k.eval("+/!1000").unwrap()), "499500");
}
