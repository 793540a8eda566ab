//! Job inputs: the bytes uploaded with the job, or a path to a file under each worker's
//! inputs folder (`[worker].inputs_folder`).
//!
//! A path is checked twice. The coordinator checks its syntax ([`InputPath::parse`]): it
//! must be relative, without `..` components or NUL bytes, and at most
//! [`MAX_INPUT_PATH_BYTES`] long. Each worker resolves it under its own folder
//! ([`read_input_file`]): the canonical path (symlinks followed) must stay inside the
//! canonical folder, and the file must exist and fit in [`MAX_INPUT_BYTES`].

use std::path::{Component, Path, PathBuf};

use zisk_proto::bytes::Bytes;

use crate::limits::MAX_INPUT_BYTES;

/// Longest input path accepted, in bytes.
pub const MAX_INPUT_PATH_BYTES: usize = 1024;

/// A syntactically valid input path, relative to a worker's inputs folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputPath(String);

/// Why an input path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputPathError {
    /// The path is empty.
    #[error("the input path is empty")]
    Empty,
    /// The path is longer than [`MAX_INPUT_PATH_BYTES`].
    #[error("the input path is {length} bytes, more than the limit of {MAX_INPUT_PATH_BYTES}")]
    TooLong {
        /// Its length in bytes.
        length: usize,
    },
    /// The path holds a NUL byte.
    #[error("the input path {path:?} holds a NUL byte")]
    NulByte {
        /// The path.
        path: String,
    },
    /// The path is absolute.
    #[error("the input path {path:?} is absolute; it must be relative to the inputs folder")]
    Absolute {
        /// The path.
        path: String,
    },
    /// The path has a `..` component.
    #[error("the input path {path:?} has a `..` component; it must stay in the inputs folder")]
    ParentComponent {
        /// The path.
        path: String,
    },
    /// The job carries both a path and input bytes.
    #[error("the job gives both an input path ({path:?}) and input bytes; give one")]
    BothPathAndBytes {
        /// The path.
        path: String,
    },
}

/// Why a worker cannot read an input file.
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    /// The worker has no inputs folder.
    #[error("input file {path:?}: this worker has no inputs folder configured")]
    NoInputsFolder {
        /// The path.
        path: String,
    },
    /// The inputs folder cannot be resolved.
    #[error("input file {path:?}: the inputs folder {folder} cannot be resolved: {source}")]
    Folder {
        /// The path.
        path: String,
        /// The folder.
        folder: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file does not exist or cannot be resolved.
    #[error("input file {path:?} not found in the inputs folder: {source}")]
    NotFound {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file resolves (through a symlink) outside the inputs folder.
    #[error("input file {path:?} resolves outside the inputs folder")]
    Escapes {
        /// The path.
        path: String,
    },
    /// The path is not a regular file.
    #[error("input file {path:?} is not a regular file")]
    NotAFile {
        /// The path.
        path: String,
    },
    /// The file is larger than [`MAX_INPUT_BYTES`].
    #[error("input file {path:?} is {size} bytes, more than the limit of {MAX_INPUT_BYTES}")]
    TooLarge {
        /// The path.
        path: String,
        /// Its size.
        size: u64,
    },
    /// Reading the file failed.
    #[error("input file {path:?} cannot be read: {source}")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl InputPath {
    /// Checks `path`'s syntax.
    ///
    /// # Errors
    /// Empty, too long, a NUL byte, absolute, or a `..` component.
    pub fn parse(path: &str) -> Result<Self, InputPathError> {
        if path.is_empty() {
            return Err(InputPathError::Empty);
        }
        if path.len() > MAX_INPUT_PATH_BYTES {
            return Err(InputPathError::TooLong { length: path.len() });
        }
        let owned = || path.to_owned();
        if path.contains('\0') {
            return Err(InputPathError::NulByte { path: owned() });
        }
        let components = Path::new(path).components();
        for component in components {
            match component {
                Component::RootDir | Component::Prefix(_) => {
                    return Err(InputPathError::Absolute { path: owned() });
                }
                Component::ParentDir => {
                    return Err(InputPathError::ParentComponent { path: owned() });
                }
                Component::CurDir | Component::Normal(_) => {}
            }
        }
        Ok(InputPath(path.to_owned()))
    }

    /// The path as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for InputPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job's input as the adapters hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobInput {
    /// The bytes, uploaded with the job.
    Inline(Bytes),
    /// A file each worker reads from its inputs folder.
    Path(InputPath),
}

impl JobInput {
    /// The input from a job spec: a path when `path` is not empty (then `size` must be 0),
    /// else the uploaded bytes.
    ///
    /// # Errors
    /// The path's syntax, or both a path and bytes.
    pub fn from_spec(path: &str, size: u64) -> Result<Option<InputPath>, InputPathError> {
        if path.is_empty() {
            return Ok(None);
        }
        let parsed = InputPath::parse(path)?;
        if size != 0 {
            return Err(InputPathError::BothPathAndBytes {
                path: path.to_owned(),
            });
        }
        Ok(Some(parsed))
    }
}

/// Reads `path` under `folder` on the calling (blocking) thread: the canonical file must be
/// inside the canonical folder, a regular file, and at most [`MAX_INPUT_BYTES`].
///
/// # Errors
/// No folder, a missing file, an escape through a symlink, not a file, too large, or I/O.
pub fn read_input_file(folder: Option<&Path>, path: &InputPath) -> Result<Bytes, InputFileError> {
    let name = || path.as_str().to_owned();
    let folder = folder.ok_or_else(|| InputFileError::NoInputsFolder { path: name() })?;
    let canonical_folder = folder
        .canonicalize()
        .map_err(|source| InputFileError::Folder {
            path: name(),
            folder: folder.to_path_buf(),
            source,
        })?;
    let file = canonical_folder
        .join(path.as_str())
        .canonicalize()
        .map_err(|source| InputFileError::NotFound {
            path: name(),
            source,
        })?;
    if !file.starts_with(&canonical_folder) {
        return Err(InputFileError::Escapes { path: name() });
    }
    let metadata = std::fs::metadata(&file).map_err(|source| InputFileError::Read {
        path: name(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(InputFileError::NotAFile { path: name() });
    }
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(InputFileError::TooLarge {
            path: name(),
            size: metadata.len(),
        });
    }
    let bytes = std::fs::read(&file).map_err(|source| InputFileError::Read {
        path: name(),
        source,
    })?;
    // The file may have grown since the metadata was read.
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(InputFileError::TooLarge {
            path: name(),
            size: bytes.len() as u64,
        });
    }
    Ok(Bytes::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_paths_that_could_leave_the_folder_are_refused_by_syntax() {
        assert!(InputPath::parse("fib.in").is_ok());
        assert!(InputPath::parse("./jobs/7/fib.in").is_ok());
        assert_eq!(InputPath::parse(""), Err(InputPathError::Empty));
        assert!(matches!(
            InputPath::parse("/etc/passwd"),
            Err(InputPathError::Absolute { .. })
        ));
        assert!(matches!(
            InputPath::parse("../etc/passwd"),
            Err(InputPathError::ParentComponent { .. })
        ));
        assert!(matches!(
            InputPath::parse("jobs/../../x"),
            Err(InputPathError::ParentComponent { .. })
        ));
        assert!(matches!(
            InputPath::parse("a\0b"),
            Err(InputPathError::NulByte { .. })
        ));
        assert_eq!(
            InputPath::parse(&"a".repeat(MAX_INPUT_PATH_BYTES + 1)),
            Err(InputPathError::TooLong {
                length: MAX_INPUT_PATH_BYTES + 1
            })
        );
        assert!(InputPath::parse(&"a".repeat(MAX_INPUT_PATH_BYTES)).is_ok());
        let error = InputPath::parse("../etc/passwd").unwrap_err().to_string();
        assert!(error.contains("../etc/passwd"), "{error}");
    }

    #[test]
    fn a_job_spec_with_both_a_path_and_bytes_is_refused() {
        assert_eq!(JobInput::from_spec("", 5), Ok(None));
        assert_eq!(
            JobInput::from_spec("fib.in", 0),
            Ok(Some(InputPath("fib.in".to_owned())))
        );
        assert_eq!(
            JobInput::from_spec("fib.in", 4),
            Err(InputPathError::BothPathAndBytes {
                path: "fib.in".to_owned()
            })
        );
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "zisk-input-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos())
        ));
        std::fs::create_dir_all(dir.join("inputs/sub")).unwrap();
        dir
    }

    #[test]
    fn a_worker_reads_files_inside_its_folder_and_refuses_escapes() {
        let dir = scratch("resolve");
        let folder = dir.join("inputs");
        std::fs::write(folder.join("sub/fib.in"), 30u32.to_le_bytes()).unwrap();
        std::fs::write(dir.join("secret"), b"outside").unwrap();
        std::os::unix::fs::symlink(dir.join("secret"), folder.join("link")).unwrap();
        std::os::unix::fs::symlink(folder.join("sub/fib.in"), folder.join("inner")).unwrap();
        let read = |path: &str| read_input_file(Some(&folder), &InputPath(path.to_owned()));

        assert_eq!(read("sub/fib.in").unwrap().as_ref(), &30u32.to_le_bytes());
        assert_eq!(read("inner").unwrap().as_ref(), &30u32.to_le_bytes());
        assert!(matches!(read("link"), Err(InputFileError::Escapes { .. })));
        // Paths the coordinator would refuse are still contained here.
        assert!(matches!(
            read("../secret"),
            Err(InputFileError::Escapes { .. })
        ));
        let absolute = dir.join("secret").display().to_string();
        assert!(matches!(
            read(&absolute),
            Err(InputFileError::Escapes { .. })
        ));
        let missing = read("sub/missing.in").unwrap_err();
        assert!(matches!(missing, InputFileError::NotFound { .. }));
        assert!(missing.to_string().contains("sub/missing.in"), "{missing}");
        assert!(matches!(read("sub"), Err(InputFileError::NotAFile { .. })));
        assert!(matches!(
            read_input_file(None, &InputPath("sub/fib.in".to_owned())),
            Err(InputFileError::NoInputsFolder { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
