//! The seven stages of the joint hunting and incident response flow, and the
//! rule for moving an incident between them.
//!
//! Stages advance one step at a time: Collection, Hypothesis, Detection,
//! Communication, Coordination, Documentation, Improvement. Moving to the
//! current stage is not an error ([`Move::AlreadyThere`]). Moving backwards or
//! skipping a stage is, and the error carries the stage that would be valid.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::types::fold;

/// A stage of the flow, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Collection,
    Hypothesis,
    Detection,
    Communication,
    Coordination,
    Documentation,
    Improvement,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Collection,
        Stage::Hypothesis,
        Stage::Detection,
        Stage::Communication,
        Stage::Coordination,
        Stage::Documentation,
        Stage::Improvement,
    ];

    /// Stable lowercase code, the English name: `collection` … `improvement`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Collection => "collection",
            Stage::Hypothesis => "hypothesis",
            Stage::Detection => "detection",
            Stage::Communication => "communication",
            Stage::Coordination => "coordination",
            Stage::Documentation => "documentation",
            Stage::Improvement => "improvement",
        }
    }

    /// Returns the position in the flow, from 1 to 7.
    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// Returns the stage at position `number` (1 to 7).
    pub fn from_number(number: u8) -> Option<Stage> {
        Stage::ALL.get(usize::from(number).checked_sub(1)?).copied()
    }

    /// Returns the following stage, or `None` after Improvement.
    pub fn next(self) -> Option<Stage> {
        Stage::from_number(self.number() + 1)
    }

    /// Parses an English or Spanish stage name in any case, with or without
    /// accents (`detección`, `Deteccion`, `DETECTION`), or a number from 1 to 7.
    pub fn parse(value: &str) -> Result<Stage, StageError> {
        let folded = fold(value.trim());
        let stage = match folded.as_str() {
            "collection" | "recoleccion" => Some(Stage::Collection),
            "hypothesis" | "hipotesis" => Some(Stage::Hypothesis),
            "detection" | "deteccion" => Some(Stage::Detection),
            "communication" | "comunicacion" => Some(Stage::Communication),
            "coordination" | "coordinacion" => Some(Stage::Coordination),
            "documentation" | "documentacion" => Some(Stage::Documentation),
            "improvement" | "mejora" => Some(Stage::Improvement),
            number => number.parse::<u8>().ok().and_then(Stage::from_number),
        };
        stage.ok_or_else(|| StageError::Unknown {
            value: value.to_string(),
        })
    }

    /// Validates a move from `self` to `target`.
    pub fn move_to(self, target: Stage) -> Result<Move, StageError> {
        if target == self {
            return Ok(Move::AlreadyThere(self));
        }
        if Some(target) == self.next() {
            return Ok(Move::Advanced {
                from: self,
                to: target,
            });
        }
        match self.next() {
            // A later stage exists, so `self` has a next stage.
            Some(expected) if target > self => Err(StageError::Skipped {
                from: self,
                to: target,
                expected,
            }),
            expected => Err(StageError::Backwards {
                from: self,
                to: target,
                expected,
            }),
        }
    }

    /// Validates a move to a [`StageTarget`], resolving `next` first.
    pub fn apply(self, target: StageTarget) -> Result<Move, StageError> {
        match target {
            StageTarget::Next => match self.next() {
                Some(next) => self.move_to(next),
                None => Err(StageError::NoNextStage { from: self }),
            },
            StageTarget::Stage(stage) => self.move_to(stage),
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = StageError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Stage::parse(value)
    }
}

/// The argument of `/stage`: the next stage or a named one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageTarget {
    Next,
    Stage(Stage),
}

impl StageTarget {
    /// Parses `next`/`siguiente` (any case) or anything [`Stage::parse`] accepts.
    pub fn parse(value: &str) -> Result<StageTarget, StageError> {
        match fold(value.trim()).as_str() {
            "next" | "siguiente" => Ok(StageTarget::Next),
            _ => Stage::parse(value).map(StageTarget::Stage),
        }
    }
}

impl FromStr for StageTarget {
    type Err = StageError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        StageTarget::parse(value)
    }
}

/// A valid stage move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The incident moved one stage forward.
    Advanced { from: Stage, to: Stage },
    /// The incident is already at this stage, so nothing changes.
    AlreadyThere(Stage),
}

/// A stage name that does not parse, or a move that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StageError {
    #[error("unknown stage {value:?}, expected a stage name or a number from 1 to 7")]
    Unknown { value: String },
    /// `expected` is the only valid forward move, `None` from the last stage.
    #[error("cannot move back from {from} to {to}")]
    Backwards {
        from: Stage,
        to: Stage,
        expected: Option<Stage>,
    },
    /// `expected` is the only valid forward move.
    #[error("cannot skip from {from} to {to}, the next stage is {expected}")]
    Skipped {
        from: Stage,
        to: Stage,
        expected: Stage,
    },
    #[error("{from} is the last stage")]
    NoNextStage { from: Stage },
}

impl StageError {
    /// Stable code for the render layer.
    pub fn code(&self) -> &'static str {
        match self {
            StageError::Unknown { .. } => "stage_unknown",
            StageError::Backwards { .. } => "stage_backwards",
            StageError::Skipped { .. } => "stage_skipped",
            StageError::NoNextStage { .. } => "stage_no_next",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_numbered_in_order() {
        for (index, stage) in Stage::ALL.iter().enumerate() {
            assert_eq!(usize::from(stage.number()), index + 1);
            assert_eq!(Stage::from_number(stage.number()), Some(*stage));
        }
        assert_eq!(Stage::from_number(0), None);
        assert_eq!(Stage::from_number(8), None);
    }

    #[test]
    fn next_walks_the_flow() {
        let mut walked = vec![Stage::Collection];
        while let Some(next) = walked.last().unwrap().next() {
            walked.push(next);
        }
        assert_eq!(walked, Stage::ALL);
        assert_eq!(Stage::Improvement.next(), None);
    }

    #[test]
    fn parse_accepts_both_languages() {
        let cases = [
            ("Collection", Stage::Collection),
            ("recolección", Stage::Collection),
            ("RECOLECCION", Stage::Collection),
            ("hypothesis", Stage::Hypothesis),
            ("Hipótesis", Stage::Hypothesis),
            ("hipotesis", Stage::Hypothesis),
            ("detection", Stage::Detection),
            ("Detección", Stage::Detection),
            ("communication", Stage::Communication),
            ("comunicación", Stage::Communication),
            ("coordination", Stage::Coordination),
            ("coordinación", Stage::Coordination),
            (" Coordinacion ", Stage::Coordination),
            ("documentation", Stage::Documentation),
            ("documentación", Stage::Documentation),
            ("improvement", Stage::Improvement),
            ("Mejora", Stage::Improvement),
        ];
        for (input, expected) in cases {
            assert_eq!(Stage::parse(input), Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn parse_accepts_numbers() {
        for number in 1..=7u8 {
            let parsed = Stage::parse(&number.to_string()).unwrap();
            assert_eq!(parsed.number(), number);
        }
        for bad in ["0", "8", "-1", "256", "1.5"] {
            assert!(Stage::parse(bad).is_err(), "input {bad:?}");
        }
    }

    #[test]
    fn parse_rejects_unknown() {
        let error = Stage::parse("containment").unwrap_err();
        assert_eq!(
            error,
            StageError::Unknown {
                value: "containment".into()
            }
        );
        assert_eq!(error.code(), "stage_unknown");
        assert!(Stage::parse("").is_err());
    }

    #[test]
    fn move_forward_one_step() {
        assert_eq!(
            Stage::Communication.move_to(Stage::Coordination),
            Ok(Move::Advanced {
                from: Stage::Communication,
                to: Stage::Coordination
            })
        );
    }

    #[test]
    fn move_to_same_stage_is_noop() {
        assert_eq!(
            Stage::Detection.move_to(Stage::Detection),
            Ok(Move::AlreadyThere(Stage::Detection))
        );
    }

    #[test]
    fn move_backwards_is_error() {
        let error = Stage::Coordination.move_to(Stage::Hypothesis).unwrap_err();
        assert_eq!(
            error,
            StageError::Backwards {
                from: Stage::Coordination,
                to: Stage::Hypothesis,
                expected: Some(Stage::Documentation),
            }
        );
        assert_eq!(error.code(), "stage_backwards");
    }

    #[test]
    fn move_skipping_is_error() {
        let error = Stage::Detection.move_to(Stage::Documentation).unwrap_err();
        assert_eq!(
            error,
            StageError::Skipped {
                from: Stage::Detection,
                to: Stage::Documentation,
                expected: Stage::Communication,
            }
        );
        assert_eq!(error.code(), "stage_skipped");
        assert_eq!(
            error.to_string(),
            "cannot skip from detection to documentation, the next stage is communication"
        );
    }

    #[test]
    fn move_back_from_last_stage() {
        let error = Stage::Improvement.move_to(Stage::Collection).unwrap_err();
        assert_eq!(
            error,
            StageError::Backwards {
                from: Stage::Improvement,
                to: Stage::Collection,
                expected: None,
            }
        );
    }

    #[test]
    fn every_pair_follows_the_rule() {
        for from in Stage::ALL {
            for to in Stage::ALL {
                let result = from.move_to(to);
                if to == from {
                    assert_eq!(result, Ok(Move::AlreadyThere(from)));
                } else if to.number() == from.number() + 1 {
                    assert_eq!(result, Ok(Move::Advanced { from, to }));
                } else {
                    assert!(result.is_err(), "{from} -> {to}");
                }
            }
        }
    }

    #[test]
    fn target_parses_next() {
        assert_eq!(StageTarget::parse("next"), Ok(StageTarget::Next));
        assert_eq!(StageTarget::parse("Siguiente"), Ok(StageTarget::Next));
        assert_eq!(
            StageTarget::parse("coordinación"),
            Ok(StageTarget::Stage(Stage::Coordination))
        );
        assert_eq!(
            StageTarget::parse("5"),
            Ok(StageTarget::Stage(Stage::Coordination))
        );
        assert!(StageTarget::parse("later").is_err());
    }

    #[test]
    fn apply_next_advances() {
        assert_eq!(
            Stage::Communication.apply(StageTarget::Next),
            Ok(Move::Advanced {
                from: Stage::Communication,
                to: Stage::Coordination
            })
        );
    }

    #[test]
    fn apply_next_at_last_stage_is_error() {
        let error = Stage::Improvement.apply(StageTarget::Next).unwrap_err();
        assert_eq!(
            error,
            StageError::NoNextStage {
                from: Stage::Improvement
            }
        );
        assert_eq!(error.code(), "stage_no_next");
    }

    #[test]
    fn serde_uses_codes() {
        assert_eq!(
            serde_json::to_string(&Stage::Coordination).unwrap(),
            "\"coordination\""
        );
        let stage: Stage = serde_json::from_str("\"improvement\"").unwrap();
        assert_eq!(stage, Stage::Improvement);
    }
}
