//! The decision object for the typed pass: its members may come before
//! `decision_kind` says which of them count.

use super::object::{bits, object_with};
use super::tape::{slot, Tape, NULL_NUMBER};
use super::values::{choice, nullable, number, owned};
use crate::decision::{
    Decision, DecisionKind, Fomo2Action, Fomo2Signal, OddsoddyMultiplier, PolymarketSide, Side,
};
use crate::json::{FieldTable, Keep, Reader};

/// Ordered so that each kind's fields in SPEC order come in this order:
/// action, strength, side, edge, price, stake_fraction, multiplier, reason.
pub(super) const DECISION: FieldTable = crate::decision::KEEP.fields();

/// The fields of all three decisions, as read.
#[derive(Default)]
pub(super) struct DecisionFields {
    /// Which of [`DECISION`] were there, a bit each.
    given: u64,
    /// Which of them were not of their type, a bit each.
    unreadable: u64,
    action: Option<(usize, Fomo2Action)>,
    side: Option<(usize, Side)>,
    reason: Option<String>,
    /// The number fields, by their index in [`DECISION`] (`None` for null).
    numbers: [Option<f64>; 8],
}

impl DecisionFields {
    /// Reads the decision object. A member the kind turns out not to have
    /// is dropped whatever it holds, as Pydantic reads only the kind's
    /// fields; so a member that is not of its type is only noted here, and
    /// judged in [`Self::into_decision`].
    pub(super) fn read(&mut self, r: &mut Reader<'_>, tape: &mut Tape) -> Option<()> {
        self.given = object_with(r, DECISION, 0, &mut |r, field| {
            let start = r.pos();
            if self.member(r, tape, field).is_none() {
                r.rewind(start);
                r.value(Keep::Nothing).ok()?;
                self.unreadable |= 1 << field;
            }
            Some(())
        })?;
        Some(())
    }

    fn member(&mut self, r: &mut Reader<'_>, tape: &mut Tape, field: usize) -> Option<()> {
        match field {
            0 => self.action = Some(choice(r, &Fomo2Action::ALL, |a| a.as_str())?),
            2 => self.side = Some(choice(r, &Side::ALL, |s| s.as_str())?),
            7 => self.reason = Some(owned(r, tape, slot::REASON)?),
            3 | 4 => *self.numbers.get_mut(field)? = nullable(r, number)?,
            _ => *self.numbers.get_mut(field)? = Some(number(r)?),
        }
        Some(())
    }

    /// The decision `kind` names, if its fields were there and readable;
    /// its choice and numbers go on the tape.
    pub(super) fn into_decision(self, kind: DecisionKind, tape: &mut Tape) -> Option<Decision> {
        let needed = match kind {
            DecisionKind::Fomo2Signal => bits(&[0, 1, 7]),
            DecisionKind::PolymarketSide => bits(&[2, 3, 4, 5, 7]),
            DecisionKind::OddsoddyMultiplier => bits(&[6, 7]),
        };
        if self.given & needed != needed || self.unreadable & needed != 0 {
            return None;
        }
        let [_, strength, _, edge, price, stake_fraction, multiplier, _] = self.numbers;
        let (choice, numbers, decision) = match kind {
            DecisionKind::Fomo2Signal => {
                let (index, action) = self.action?;
                let strength = strength?;
                let signal = Fomo2Signal {
                    action,
                    strength,
                    reason: self.reason?,
                };
                (
                    index,
                    [Some(strength), None, None, None],
                    Decision::Fomo2Signal(signal),
                )
            }
            DecisionKind::PolymarketSide => {
                let (index, side) = self.side?;
                let stake_fraction = stake_fraction?;
                let numbers = [None, edge, price, Some(stake_fraction)];
                let decision = Decision::PolymarketSide(PolymarketSide {
                    side,
                    edge,
                    price,
                    stake_fraction,
                    reason: self.reason?,
                });
                (index, numbers, decision)
            }
            DecisionKind::OddsoddyMultiplier => {
                let multiplier = multiplier?;
                let decision = Decision::OddsoddyMultiplier(OddsoddyMultiplier {
                    multiplier,
                    reason: self.reason?,
                });
                (0, [None, None, None, Some(multiplier)], decision)
            }
        };
        tape.set(slot::CHOICE, choice as f64)?;
        for (i, x) in numbers.into_iter().enumerate() {
            tape.set(slot::NUMBERS + i, x.unwrap_or(NULL_NUMBER))?;
        }
        Some(decision)
    }
}
