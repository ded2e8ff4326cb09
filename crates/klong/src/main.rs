//! The `klong` command: REPL, `-e EXPR`, script files and a line-oriented machine mode.

use clap::Parser;
use klong::{Capabilities, ErrorKind, Klong, Value, readable};
use std::io::BufRead;
use std::time::{Duration, Instant};

// Klong values are many small Rc allocations (a 10k-piece string split makes 20k); glibc's
// malloc spent ~75% of such runs in malloc/free/consolidate. Same allocator as the kdfs server,
// so the CLI measures what the server runs. Binary only: the library leaves the choice to users.
#[cfg(feature = "cli-alloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Klong interpreter.
///
/// Examples:
///   klong                      start the REPL (prompt `?> `)
///   klong -e '+/!10'           print 45
///   klong prog.kg a b          run prog.kg with .a = ["a" "b"]
///   klong --lines < progs.txt  one program per line, one output line each
#[derive(Parser, Debug)]
#[command(name = "klong", version, verbatim_doc_comment)]
struct Args {
    /// Evaluate EXPR, print its value in readable form and exit.
    #[arg(
        short = 'e',
        long = "expr",
        value_name = "EXPR",
        allow_hyphen_values = true
    )]
    expr: Option<String>,
    /// Machine mode: read one program per line, write exactly one output line per input line.
    #[arg(long)]
    lines: bool,
    /// Abort any single evaluation after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Maximum function-call depth.
    #[arg(long, default_value_t = 100_000)]
    max_depth: usize,
    /// Program file followed by its arguments (available as `.a`).
    #[arg(trailing_var_arg = true)]
    file: Vec<String>,
}

fn main() {
    let args = Args::parse();
    // Deep Klong recursion uses the Rust stack: run on a thread with a large one.
    let child = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || run(args))
        .map(|h| h.join().unwrap_or(2));
    std::process::exit(child.unwrap_or(2));
}

fn arm(k: &mut Klong, timeout: Option<f64>) {
    k.set_deadline(timeout.map(|t| Instant::now() + Duration::from_secs_f64(t)));
}

fn report(e: &klong::KlongError) -> i32 {
    if let ErrorKind::Exit(code) = e.kind {
        return code;
    }
    eprintln!("klong: error: {e}");
    1
}

fn run(args: Args) -> i32 {
    let mut k = Klong::with_capabilities(Capabilities::all());
    k.set_max_depth(args.max_depth);
    k.set_stack_limit(900 << 20);
    if let Some(e) = &args.expr {
        arm(&mut k, args.timeout);
        return match k.exec(e) {
            Ok(Some(v)) => {
                println!("{}", readable(&v));
                0
            }
            Ok(None) => 0,
            Err(e) => report(&e),
        };
    }
    if let Some((file, rest)) = args.file.split_first() {
        k.set(
            ".a",
            Value::list(rest.iter().map(|s| Value::str(s)).collect()),
        );
        arm(&mut k, args.timeout);
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("klong: cannot read {file}: {e}");
                return 1;
            }
        };
        return match k.exec(&text) {
            Ok(_) => 0,
            Err(e) => report(&e),
        };
    }
    if args.lines {
        return lines_mode(&mut k, args.timeout);
    }
    repl(&mut k, args.timeout)
}

fn lines_mode(k: &mut Klong, timeout: Option<f64>) -> i32 {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        arm(k, timeout);
        k.capture_output();
        let r = k.exec(&line);
        let printed = k.take_output();
        k.set_output(Box::new(std::io::stdout()));
        let _ = printed;
        match r {
            Ok(Some(v)) => println!("{}", readable(&v).replace('\n', "\\n")),
            Ok(None) => println!(),
            Err(e) if matches!(e.kind, ErrorKind::Exit(_)) => return report(&e),
            Err(e) => println!("!error {}", e.msg.replace('\n', "\\n")),
        }
    }
    0
}

/// Bracket balance of a partial input, ignoring strings and comments.
fn open_depth(s: &str) -> i32 {
    let mut depth = 0;
    let mut in_str = false;
    for c in s.chars() {
        match c {
            '"' => in_str = !in_str,
            '[' | '{' if !in_str => depth += 1,
            ']' | '}' if !in_str => depth -= 1,
            _ => {}
        }
    }
    depth
}

fn repl(k: &mut Klong, timeout: Option<f64>) -> i32 {
    let mut rl = match rustyline::DefaultEditor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("klong: cannot start line editor: {e}");
            return 1;
        }
    };
    let history = std::env::var("HOME")
        .map(|h| format!("{h}/.klong_history"))
        .ok();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let mut buf = String::new();
    loop {
        let prompt = if buf.is_empty() { "?> " } else { "   " };
        match rl.readline(prompt) {
            Ok(line) => {
                if buf.is_empty() && line.trim() == "]q" {
                    break;
                }
                buf.push_str(&line);
                buf.push('\n');
                if open_depth(&buf) > 0 {
                    continue;
                }
                let src = std::mem::take(&mut buf);
                let _ = rl.add_history_entry(src.trim_end());
                arm(k, timeout);
                match k.exec(&src) {
                    Ok(Some(v)) => {
                        println!("{}", readable(&v));
                        k.set("it", v);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let code = report(&e);
                        if matches!(e.kind, ErrorKind::Exit(_)) {
                            return code;
                        }
                    }
                }
            }
            Err(rustyline::error::ReadlineError::Interrupted) => buf.clear(),
            Err(_) => break,
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    0
}
