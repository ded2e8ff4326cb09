//! Small client subcommands: `stats`, `ls`, `rm`, `load`, `unload`.

use clap::Args;
use comfy_table::{Table, presets};

use super::connect::ConnectArgs;

/// Options of `kdfs stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// 0: memory and totals; 1: also loaded frames; 2: also every stored key.
    #[arg(long, default_value_t = 0)]
    pub level: u8,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Options of `kdfs ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only keys starting with this prefix.
    #[arg(default_value = "")]
    pub prefix: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Options of subcommands that take one key.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Key path, e.g. historical/minute/AAPL.
    pub key: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Print statistics as JSON.
pub async fn stats(args: StatsArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    let stats = client.stats(args.level).await?;
    println!("{}", serde_json::to_string_pretty(&stats)?);
    Ok(0)
}

/// Print stored keys as a table.
pub async fn ls(args: LsArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    let keys = client.list_keys(&args.prefix).await?;
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(vec!["KEY", "ROWS", "FIRST", "LAST", "LOADED"]);
    let opt = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    for entry in &keys {
        table.add_row(vec![
            entry.key.clone(),
            entry.rows.to_string(),
            opt(entry.first),
            opt(entry.last),
            if entry.loaded { "yes" } else { "no" }.to_string(),
        ]);
    }
    println!("{table}");
    Ok(0)
}

/// Delete a key.
pub async fn rm(args: KeyArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    client.delete(&args.key).await?;
    eprintln!("deleted {}", args.key);
    Ok(0)
}

/// Load a key into the server's memory.
pub async fn load(args: KeyArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    client.load(&args.key).await?;
    eprintln!("loaded {}", args.key);
    Ok(0)
}

/// Drop a key from the server's memory.
pub async fn unload(args: KeyArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    client.unload(&args.key).await?;
    eprintln!("unloaded {}", args.key);
    Ok(0)
}
