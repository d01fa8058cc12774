//! One classification of every failure, and the one place that turns it
//! into the process's exit code. Each crate's error type says which class
//! it belongs to (`failure()`); front-ends print the error and exit with
//! `Failure::exit_code`.

/// What kind of failure an error is, from the point of view of whoever
/// ran the command (a person, CI, a scheduler deciding whether to retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Bad arguments, config, policy or reference: fix the command (exit 2).
    Usage,
    /// Bad data, report or artifact: fix the input file (exit 3).
    Data,
    /// A file or folder that could not be created, written or renamed
    /// (disk full, permissions): retrying may succeed (exit 75, sysexits'
    /// EX_TEMPFAIL).
    Transient,
    /// The work ran and failed: training diverged, a gate or data check
    /// failed, a verification differed, an I/O read failed (exit 1).
    RunFailed,
    /// Stopped on request after saving what resumes it: 130 after SIGINT
    /// (or a stop requested in-process), 143 after SIGTERM.
    Interrupted(Stop),
}

/// What stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Sigint,
    Sigterm,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Sigint => "SIGINT",
            Stop::Sigterm => "SIGTERM",
        }
    }
}

/// Every class with its exit code: the table the README documents and
/// `tests/exit_codes.rs` checks end to end.
pub const EXIT_CODES: [(Failure, u8); 6] = [
    (Failure::RunFailed, 1),
    (Failure::Usage, 2),
    (Failure::Data, 3),
    (Failure::Transient, 75),
    (Failure::Interrupted(Stop::Sigint), 130),
    (Failure::Interrupted(Stop::Sigterm), 143),
];

impl Failure {
    pub fn exit_code(self) -> u8 {
        match self {
            Failure::RunFailed => 1,
            Failure::Usage => 2,
            Failure::Data => 3,
            Failure::Transient => 75,
            Failure::Interrupted(Stop::Sigint) => 130,
            Failure::Interrupted(Stop::Sigterm) => 143,
        }
    }

    /// The class a child process's exit code stands for (a sweep's
    /// trials); codes outside the table are run failures.
    pub fn from_exit_code(code: i32) -> Failure {
        EXIT_CODES
            .iter()
            .find(|(_, c)| i32::from(*c) == code)
            .map_or(Failure::RunFailed, |(f, _)| *f)
    }
}

impl crate::CoreError {
    pub fn failure(&self) -> Failure {
        match self {
            crate::CoreError::Write { .. } => Failure::Transient,
            crate::CoreError::Read { .. } | crate::CoreError::Json { .. } => Failure::RunFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_and_the_mapping_agree_both_ways() {
        for (f, code) in EXIT_CODES {
            assert_eq!(f.exit_code(), code);
            assert_eq!(Failure::from_exit_code(i32::from(code)), f);
        }
        assert_eq!(Failure::from_exit_code(0), Failure::RunFailed);
        assert_eq!(Failure::from_exit_code(137), Failure::RunFailed);
    }
}
