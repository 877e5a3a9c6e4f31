//! The one error type of `bragg-io`.
//!
//! Every variant names the file; those about the content of a text file also name the 1-based
//! line, binary formats the byte offset. `Display` follows the compiler convention
//! `path:line: message`, so editors can jump to the spot.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong when reading or writing a file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The text does not follow the format's syntax (unterminated quote, malformed number,
    /// a loop whose values do not fill its rows, ...).
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A binary file whose bytes do not follow the format.
    #[error("{}: at byte {offset}: {message}", path.display())]
    ParseBinary {
        /// The file.
        path: PathBuf,
        /// 0-based byte offset of the offending field.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// The operating system refused a read, write or rename.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is well-formed but describes a crystal model that `bragg-crystal` rejects
    /// (unknown element, impossible cell, occupancies above one, ...).
    #[error("{}:{line}: {source}", path.display())]
    Crystal {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending value (the data block's first line when the
        /// problem involves the whole block).
        line: usize,
        /// The model error.
        #[source]
        source: bragg_crystal::Error,
    },
    /// Something the format requires is absent (e.g. a CIF data block without its cell).
    #[error("{}:{line}: missing {what}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// 1-based line of the enclosing section (for a CIF, the `data_` header).
        line: usize,
        /// What is missing, e.g. `_cell_length_a in data block 'LTNO'`.
        what: String,
    },
    /// A value that parses but is not acceptable (NaN, negative esd, non-monotonic 2θ, wrong
    /// number of columns, empty file, inconsistent space-group information).
    #[error("{}:{line}: {message}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A writer was handed data it cannot write (e.g. columns of different lengths); nothing
    /// was written.
    #[error("{}: refusing to write: {message}", path.display())]
    InvalidInput {
        /// The file that was to be written.
        path: PathBuf,
        /// What is wrong with the data.
        message: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
