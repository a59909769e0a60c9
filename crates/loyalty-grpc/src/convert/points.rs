//! Points on the wire: shown with their program's point decimals ("19.80", "300.00" in a
//! program with 2 decimals; "300" in one with whole points), the way money is shown with its
//! currency's minor units. Only the text changes, never the value: a value with more decimals
//! than its program's (which the rules do not produce) is shown in full, never cut.

use std::collections::HashMap;

use rust_decimal::Decimal;

/// How a program shows its points: the number of decimals every point value is padded to.
///
/// The default shows points normalized (no padding), for values of no program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PointFormat {
    decimals: u32,
}

impl PointFormat {
    /// Points padded to `decimals` (a program's point precision).
    pub fn new(decimals: u32) -> Self {
        PointFormat { decimals }
    }

    /// `points` (signed or not) as text, padded to the decimals; never rounded.
    pub fn show(self, points: Decimal) -> String {
        let mut shown = points.normalize();
        if shown.scale() < self.decimals {
            shown.rescale(self.decimals);
        }
        shown.to_string()
    }
}

/// The point formats of the programs a response mixes (a tenant's history, the change
/// stream), each item shown with its own program's.
#[derive(Debug, Clone, Default)]
pub struct PointFormats {
    by_program: HashMap<String, PointFormat>,
}

impl PointFormats {
    /// Formats keyed by program id.
    pub fn new(by_program: HashMap<String, PointFormat>) -> Self {
        PointFormats { by_program }
    }

    /// The format of program `program_id`; unpadded when it was not looked up.
    pub fn of(&self, program_id: &str) -> PointFormat {
        self.by_program.get(program_id).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn points_are_padded_to_the_program_decimals() {
        let two = PointFormat::new(2);
        assert_eq!(two.show(dec("19.8")), "19.80");
        assert_eq!(two.show(dec("300")), "300.00");
        assert_eq!(two.show(dec("0")), "0.00");
        assert_eq!(two.show(dec("-5.5")), "-5.50");
    }

    #[test]
    fn whole_points_stay_unpadded() {
        let whole = PointFormat::new(0);
        assert_eq!(whole.show(dec("300.00")), "300");
        assert_eq!(whole.show(dec("-12")), "-12");
        assert_eq!(PointFormat::default().show(dec("12.50")), "12.5");
    }

    #[test]
    fn more_decimals_than_the_program_are_never_cut() {
        assert_eq!(PointFormat::new(2).show(dec("1.2345")), "1.2345");
        assert_eq!(PointFormat::new(0).show(dec("7.5")), "7.5");
    }

    #[test]
    fn a_program_not_looked_up_shows_points_unpadded() {
        let formats = PointFormats::new(HashMap::from([("p1".to_owned(), PointFormat::new(2))]));
        assert_eq!(formats.of("p1").show(dec("3")), "3.00");
        assert_eq!(formats.of("p2").show(dec("3")), "3");
    }
}
