//! Where a setting came from, and the error that names it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::ArgMatches;
use clap::parser::ValueSource;

/// One of the four configuration layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// A TOML file.
    File(PathBuf),
    /// An environment variable.
    Env(&'static str),
    /// A command-line flag.
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("built-in default"),
            Source::File(path) => write!(f, "config file {}", path.display()),
            Source::Env(name) => write!(f, "environment variable {name}"),
            Source::Flag(name) => write!(f, "flag --{name}"),
        }
    }
}

/// A configuration error: which source, which key, what was expected. Nothing starts when
/// one is found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value is malformed or out of range.
    #[error("{origin}: invalid value for `{key}`: {problem}")]
    Invalid {
        /// Where the value came from.
        origin: Source,
        /// The setting, as named in the TOML file.
        key: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// A TOML file cannot be read or parsed (unknown key, wrong type, syntax).
    #[error("config file {}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The reader's or parser's message (it names the key and line).
        message: String,
    },
    /// A flag or setting asks for a capability this build does not have.
    #[error("{origin}: {what} is not supported by this build: {why}")]
    Unsupported {
        /// Where it was asked for.
        origin: Source,
        /// The capability.
        what: String,
        /// Why, and what to use instead.
        why: String,
    },
}

impl ConfigError {
    /// An invalid value.
    pub fn invalid(origin: Source, key: &str, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            origin,
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

/// A setting's value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Its layer.
    pub source: Source,
}

/// Reads and parses a TOML file into `T` (which denies unknown keys).
///
/// # Errors
/// The file cannot be read, or its contents do not fit `T`.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::File {
        path: path.to_owned(),
        message: format!("cannot read: {error}"),
    })?;
    toml::from_str(&text).map_err(|error| ConfigError::File {
        path: path.to_owned(),
        message: error.to_string().trim_end().to_owned(),
    })
}

/// A command-line argument that clap may have taken from a flag or from its environment
/// variable.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arg {
    /// clap's id of the argument.
    pub(crate) id: &'static str,
    /// The flag, without dashes.
    pub(crate) flag: &'static str,
    /// The environment variable.
    pub(crate) env: &'static str,
}

/// Layers one setting: CLI flag, else environment variable (both through clap), else the
/// TOML file, else the default. Values from clap are parsed here so that an error names the
/// flag or variable it came from.
///
/// # Errors
/// A value from the flag or the variable that does not parse as `T`.
pub(crate) fn layer<T>(
    matches: &ArgMatches,
    arg: Arg,
    key: &str,
    file: Option<(T, &Path)>,
    default: T,
) -> Result<Sourced<T>, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    if let Some(text) = matches.get_one::<String>(arg.id) {
        let source = match matches.value_source(arg.id) {
            Some(ValueSource::EnvVariable) => Source::Env(arg.env),
            _ => Source::Flag(arg.flag),
        };
        let value = text.parse::<T>().map_err(|error| {
            ConfigError::invalid(source.clone(), key, format!("{text:?}: {error}"))
        })?;
        return Ok(Sourced { value, source });
    }
    Ok(match file {
        Some((value, path)) => Sourced {
            value,
            source: Source::File(path.to_owned()),
        },
        None => Sourced {
            value: default,
            source: Source::Default,
        },
    })
}

/// Checks that a sourced number lies in `range`.
///
/// # Errors
/// The value is outside the range; the error names its source and the key.
pub(crate) fn in_range<T: PartialOrd + fmt::Display + Copy>(
    value: &Sourced<T>,
    key: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError> {
    if range.contains(&value.value) {
        Ok(value.value)
    } else {
        Err(ConfigError::invalid(
            value.source.clone(),
            key,
            format!(
                "{} is out of range; expected {}..={}",
                value.value,
                range.start(),
                range.end()
            ),
        ))
    }
}

/// A value read from the TOML file at `path` (`None` when the file or the key is absent).
pub(crate) fn in_file<T>(value: Option<T>, path: Option<&Path>) -> Option<(T, &Path)> {
    value.and_then(|value| path.map(|path| (value, path)))
}
