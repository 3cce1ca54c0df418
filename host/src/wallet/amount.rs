//! Ğ1 amounts, exact: parsed from text into centimes (1 Ğ1 = 100), never through a float.
//!
//! Accepted: digits, optionally `.` and one or two digits (`12`, `12.5`, `12.50`, `0.01`).
//! Refused with a message saying why: signs, a third decimal, a comma, spaces, exponents,
//! an empty part (`.5`, `12.`) and anything above `u64::MAX` centimes.
//! [`Amount`]'s `Display` is the canonical form, always with two decimals (`12.50`).
//! Hand-written: the grammar is five lines and crates for decimals bring floats or big
//! numbers we do not need.

use std::fmt;
use std::str::FromStr;

/// An amount of Ğ1 in centimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub u64);

/// Why an amount text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("empty amount: write it like 12.50")]
    Empty,
    #[error("amounts are positive: drop the sign in {0:?}")]
    Sign(String),
    #[error("{0:?} has more than two decimals: Ğ1 counts in centimes (e.g. 12.50)")]
    TooPrecise(String),
    #[error("{0:?} uses a comma: write the decimal point as a dot (12.50)")]
    Comma(String),
    #[error("{0:?} is not an amount: write digits with an optional dot and two decimals (12.50)")]
    Garbage(String),
    #[error("{0:?} is too large for an amount")]
    Overflow(String),
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Self, AmountError> {
        let owned = || s.to_owned();
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        if s.starts_with(['-', '+']) {
            return Err(AmountError::Sign(owned()));
        }
        if s.contains(',') {
            return Err(AmountError::Comma(owned()));
        }
        let (units, cents) = match s.split_once('.') {
            Some((u, c)) => (u, Some(c)),
            None => (s, None),
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(units) || cents.is_some_and(|c| !digits(c)) {
            return Err(AmountError::Garbage(owned()));
        }
        let cents = match cents {
            None => 0,
            Some(c) if c.len() <= 2 => {
                let scale = if c.len() == 1 { 10 } else { 1 };
                scale
                    * c.parse::<u64>()
                        .map_err(|_| AmountError::Garbage(owned()))?
            }
            Some(_) => return Err(AmountError::TooPrecise(owned())),
        };
        units
            .parse::<u64>()
            .ok()
            .and_then(|u| u.checked_mul(100))
            .and_then(|u| u.checked_add(cents))
            .map(Self)
            .ok_or_else(|| AmountError::Overflow(owned()))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let ok = [
            ("12.50", 1_250, "12.50"),
            ("12.5", 1_250, "12.50"),
            ("12", 1_200, "12.00"),
            ("0.01", 1, "0.01"),
            ("0", 0, "0.00"),
            ("007.07", 707, "7.07"),
            ("184467440737095516.15", u64::MAX, "184467440737095516.15"),
        ];
        for (text, cents, canonical) in ok {
            let a: Amount = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(a, Amount(cents), "{text}");
            assert_eq!(a.to_string(), canonical, "{text}");
            assert_eq!(canonical.parse::<Amount>(), Ok(a), "round trip {text}");
        }
        type E = AmountError;
        type Case = (&'static str, fn(String) -> E);
        let bad: [Case; 14] = [
            ("12.505", E::TooPrecise),
            ("0.001", E::TooPrecise),
            ("-1", E::Sign),
            ("+1", E::Sign),
            ("12,50", E::Comma),
            ("abc", E::Garbage),
            ("1e3", E::Garbage),
            (".5", E::Garbage),
            ("12.", E::Garbage),
            (" 12", E::Garbage),
            ("1.2.3", E::Garbage),
            ("1_000", E::Garbage),
            ("184467440737095516.16", E::Overflow),
            ("99999999999999999999999", E::Overflow),
        ];
        for (text, want) in bad {
            assert_eq!(text.parse::<Amount>(), Err(want(text.to_owned())), "{text}");
        }
        assert_eq!("".parse::<Amount>(), Err(E::Empty));
        assert!(
            "12.505"
                .parse::<Amount>()
                .unwrap_err()
                .to_string()
                .contains("centimes")
        );
    }
}
