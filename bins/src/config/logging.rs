//! The `[logging]` table shared by both binaries, and its resolution.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Deserialize;

use super::source::{Arg, ConfigError, Source, Sourced, layer};

/// `[logging]` as written in a TOML file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LoggingTable {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: Option<String>,
    /// `pretty`, `json` or `compact`.
    pub format: Option<String>,
    /// A log file, rotated daily.
    pub file_path: Option<PathBuf>,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Multi-line, human-friendly.
    Pretty,
    /// One JSON object per line (for log aggregators).
    Json,
    /// One short line per event.
    Compact,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            "compact" => Ok(LogFormat::Compact),
            _ => Err("expected pretty, json or compact".to_owned()),
        }
    }
}

/// A log level name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogLevel(pub tracing::Level);

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "trace" | "debug" | "info" | "warn" | "error" => {
                Ok(LogLevel(text.parse().map_err(|_| {
                    "expected trace, debug, info, warn or error".to_owned()
                })?))
            }
            _ => Err("expected trace, debug, info, warn or error".to_owned()),
        }
    }
}

/// Resolved logging settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggingSettings {
    /// The tracing filter directive (a level, or `RUST_LOG`'s directives).
    pub filter: Sourced<String>,
    /// The line format.
    pub format: LogFormat,
    /// The daily-rotated log file, if any.
    pub file_path: Option<PathBuf>,
}

/// The clap arguments of the logging settings of one binary.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoggingArgs {
    /// `--log-level`.
    pub(crate) level: Arg,
    /// `--log-format`.
    pub(crate) format: Arg,
    /// `--log-file`.
    pub(crate) file: Arg,
}

/// Layers the logging settings. The level: `--log-level` > `RUST_LOG` > the binary's
/// `*_LOG_LEVEL` variable > `[logging].level` > `info`.
///
/// # Errors
/// A malformed value, naming its source.
pub(crate) fn resolve_logging(
    matches: &ArgMatches,
    args: LoggingArgs,
    table: Option<(&LoggingTable, &Path)>,
    rust_log: Option<String>,
) -> Result<LoggingSettings, ConfigError> {
    let file_level = table.and_then(|(table, path)| table.level.clone().map(|level| (level, path)));
    let level = layer::<String>(
        matches,
        args.level,
        "logging.level",
        file_level,
        "info".to_owned(),
    )?;
    let from_flag = matches.value_source(args.level.id) == Some(ValueSource::CommandLine);
    let filter = match rust_log.filter(|value| !value.trim().is_empty()) {
        Some(directives) if !from_flag => {
            tracing_subscriber::EnvFilter::try_new(&directives).map_err(|error| {
                ConfigError::invalid(Source::Env("RUST_LOG"), "logging.level", error.to_string())
            })?;
            Sourced {
                value: directives,
                source: Source::Env("RUST_LOG"),
            }
        }
        _ => {
            level.value.parse::<LogLevel>().map_err(|problem| {
                ConfigError::invalid(
                    level.source.clone(),
                    "logging.level",
                    format!("{:?}: {problem}", level.value),
                )
            })?;
            level
        }
    };
    let file_format =
        table.and_then(|(table, path)| table.format.clone().map(|format| (format, path)));
    let format = layer::<String>(
        matches,
        args.format,
        "logging.format",
        file_format,
        "pretty".to_owned(),
    )?;
    let format = format.value.parse::<LogFormat>().map_err(|problem| {
        ConfigError::invalid(
            format.source.clone(),
            "logging.format",
            format!("{:?}: {problem}", format.value),
        )
    })?;
    let file_path =
        table.and_then(|(table, path)| table.file_path.clone().map(|file| (file, path)));
    let file_path = match matches.get_one::<String>(args.file.id) {
        Some(path) => Some(PathBuf::from(path)),
        None => file_path.map(|(file, _)| file),
    };
    Ok(LoggingSettings {
        filter,
        format,
        file_path,
    })
}
