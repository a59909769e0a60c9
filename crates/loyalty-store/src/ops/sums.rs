//! SQL aggregates that give the same type on both backends.
//!
//! PostgreSQL's `SUM(bigint)` is `numeric` and SQLite's is an integer, so Diesel's `sum` has a
//! different SQL type per backend; casting the sum back to `BIGINT` makes it one query for both.
//! The sums are exact: every amount is a BIGINT count of ten-thousandths.

use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::sql_types::BigInt;

/// `SUM(expr)` as a BIGINT, zero when no row matches. `expr` is trusted SQL written in this
/// crate (a column name, or an arithmetic of columns), never caller input.
pub(crate) fn sum(expr: &str) -> SqlLiteral<BigInt> {
    sql::<BigInt>(&format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)"))
}
