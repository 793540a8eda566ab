//! Logging with `tracing`: a filter, one of three formats, stdout and optionally a
//! daily-rotated file.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::config::{LogFormat, LoggingSettings};

/// Keeps the file writer flushing; drop it last.
pub struct LoggingGuard {
    _file: Option<WorkerGuard>,
}

/// Installs the global subscriber.
///
/// # Errors
/// The filter does not parse, or the log file's folder cannot be used.
pub fn init_logging(settings: &LoggingSettings, binary: &str) -> anyhow::Result<LoggingGuard> {
    let filter = EnvFilter::try_new(&settings.filter.value)?;
    let (file_writer, guard) = match &settings.file_path {
        Some(path) => {
            let folder = path
                .parent()
                .filter(|folder| !folder.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::create_dir_all(folder)?;
            let prefix = path.file_name().map_or_else(
                || format!("{binary}.log"),
                |name| name.to_string_lossy().into_owned(),
            );
            let appender = tracing_appender::rolling::daily(folder, prefix);
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (Some(writer), Some(guard))
        }
        None => (None, None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    macro_rules! install {
        ($builder:expr) => {
            match file_writer {
                Some(file) => $builder
                    .with_writer(std::io::stdout.and(file))
                    .with_ansi(false)
                    .try_init(),
                None => $builder.with_writer(std::io::stdout).try_init(),
            }
        };
    }
    let result = match settings.format {
        LogFormat::Pretty => install!(builder.pretty()),
        LogFormat::Json => install!(builder.json()),
        LogFormat::Compact => install!(builder.compact()),
    };
    result.map_err(|error| anyhow::anyhow!("cannot install the logger: {error}"))?;
    Ok(LoggingGuard { _file: guard })
}
