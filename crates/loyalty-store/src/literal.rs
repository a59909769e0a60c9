//! SQL fragments written as literals, with a type each so that Diesel caches their prepared
//! statements.
//!
//! Two reasons to write SQL as a literal rather than with Diesel's operators: a partial index
//! (`point_lots ... WHERE remaining > 0`) is only used when the query repeats its predicate
//! literally (a bound `remaining > $1` cannot match it), and `SUM` must be cast to `BIGINT` to
//! have one type on both backends. `diesel::dsl::sql` writes such literals, but a query
//! containing one has no static identity, so Diesel prepares it afresh on every call: on the
//! hot paths that costs more than running it. Each fragment here is a unit type whose
//! identity *is* its SQL, so the statements containing it are prepared once per connection.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::{BigInt, Bool, Nullable, Timestamp};

macro_rules! literal {
    ($(#[$doc:meta])* $name:ident: $ty:ty = $sql:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, QueryId)]
        pub(crate) struct $name;

        impl Expression for $name {
            type SqlType = $ty;
        }

        impl<DB: Backend> QueryFragment<DB> for $name {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }

        impl<QS> AppearsOnTable<QS> for $name {}

        impl<QS> SelectableExpression<QS> for $name {}

        impl<GB> ValidGrouping<GB> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }
    };
}

literal! {
    /// A lot with points left (the predicate of the partial indexes on `point_lots`).
    LotOpen: Bool = "point_lots.remaining > 0"
}

literal! {
    /// A lot still pending (the predicate of `point_lots_maturing`).
    LotPending: Bool = "point_lots.pending"
}

literal! {
    /// An active hold (the predicate of `holds_active_expiry`).
    HoldActive: Bool = "holds.status = 'active'"
}

literal! {
    /// The points of the selected holds, as a BIGINT, zero when none.
    SumHoldPoints: BigInt = "CAST(COALESCE(SUM(holds.points), 0) AS BIGINT)"
}

literal! {
    /// The value of the selected holds, as a BIGINT, zero when none.
    SumHoldValue: BigInt = "CAST(COALESCE(SUM(holds.value), 0) AS BIGINT)"
}

literal! {
    /// The qualifying spend of the selected day buckets, as a BIGINT, zero when none.
    SumSpendDays: BigInt = "CAST(COALESCE(SUM(qualifying_spend_days.amount), 0) AS BIGINT)"
}

literal! {
    /// The earning amounts of the selected bills, as a BIGINT, zero when none.
    SumBillEarnAmount: BigInt = "CAST(COALESCE(SUM(bills.earn_amount), 0) AS BIGINT)"
}

literal! {
    /// The earliest expiry of the selected lots, NULL when none expires (or none is selected).
    MinLotExpiry: Nullable<Timestamp> = "MIN(point_lots.expires_at)"
}

literal! {
    /// The earliest time the selected lots become spendable, NULL when none is selected.
    MinLotSpendableFrom: Nullable<Timestamp> = "MIN(point_lots.spendable_from)"
}

literal! {
    /// The earliest expiry of the selected holds, NULL when none is selected.
    MinHoldExpiry: Nullable<Timestamp> = "MIN(holds.expires_at)"
}
