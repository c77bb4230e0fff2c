//! `slotkv-server`: start a node from a config file and command-line flags.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use slotkv::config::{Config, Fsync};

/// A Redis-compatible key-value server on RocksDB, one thread per core.
#[derive(Parser, Debug)]
#[command(name = "slotkv-server", version, about)]
struct Args {
    /// TOML configuration file (see slotkv.example.toml); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// TCP port.
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Data folder.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Number of cores (0 = all online CPUs).
    #[arg(long)]
    cores: Option<usize>,
    /// Do not pin cores to CPUs.
    #[arg(long)]
    no_pin: bool,
    /// always | everysec | no
    #[arg(long, value_parser = parse_fsync)]
    fsync: Option<Fsync>,
    /// Password clients must AUTH with.
    #[arg(long)]
    requirepass: Option<String>,
    /// Maximum connected clients.
    #[arg(long)]
    maxclients: Option<usize>,
    /// error | warn | info | debug | trace
    #[arg(long)]
    loglevel: Option<String>,
}

fn parse_fsync(s: &str) -> Result<Fsync, String> {
    Fsync::parse(s).ok_or_else(|| format!("'{s}' is not one of always, everysec, no"))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(v) = args.port {
        config.port = v;
    }
    if let Some(v) = args.bind {
        config.bind = v;
    }
    if let Some(v) = args.dir {
        config.dir = v;
    }
    if let Some(v) = args.cores {
        config.cores = v;
    }
    if args.no_pin {
        config.pin_cores = false;
    }
    if let Some(v) = args.fsync {
        config.fsync = v;
    }
    if let Some(v) = args.requirepass {
        config.requirepass = v;
    }
    if let Some(v) = args.maxclients {
        config.maxclients = v;
    }
    if let Some(v) = args.loglevel {
        config.loglevel = v;
    }
    env_logger::Builder::new()
        .parse_filters(&format!("warn,slotkv={}", config.loglevel))
        .format_timestamp_millis()
        .init();
    if let Err(e) = config.validate() {
        eprintln!("slotkv-server: invalid configuration: {e}");
        std::process::exit(1);
    }
    slotkv::node::run(config).context("slotkv-server")
}
