//! The hot paths' `UPDATE`s as statements of a fixed shape, so their prepared statements are
//! cached.
//!
//! Diesel never caches an `UPDATE` built with its query builder (the `SET` list may vary with
//! `Option` fields), so each call would parse and plan it again; on SQLite that costs more
//! than running it. The updates that every earn or spend makes are written here once as SQL
//! with bound parameters, each a type of its own whose identity is its text, so Diesel
//! prepares each once per connection. The placeholders are written by Diesel for the backend
//! (`?` or `$n`), so one text serves SQLite and PostgreSQL.

use chrono::NaiveDateTime;
use diesel::RunQueryDsl;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Date, HasSqlType, Integer, Nullable, Text, Timestamp};

macro_rules! statement {
    (
        $(#[$doc:meta])*
        $name:ident { $($sql:literal $field:ident: $sqlty:ty => $rty:ty,)* } $tail:literal
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $name<'a> {
            $(pub $field: &'a $rty,)*
        }

        impl QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl<DB> QueryFragment<DB> for $name<'_>
        where
            DB: Backend $(+ HasSqlType<$sqlty>)*,
            $($rty: ToSql<$sqlty, DB>,)*
        {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
                $(
                    out.push_sql($sql);
                    out.push_bind_param::<$sqlty, $rty>(self.$field)?;
                )*
                out.push_sql($tail);
                Ok(())
            }
        }

        impl<Conn> RunQueryDsl<Conn> for $name<'_> {}
    };
}

statement! {
    /// Writes a locked membership's balances and tier back ([`crate::account::Account::save`]).
    SaveMembership {
        "UPDATE memberships SET available = " available: BigInt => i64,
        ", pending = " pending: BigInt => i64,
        ", held = " held: BigInt => i64,
        ", debt = " debt: BigInt => i64,
        ", earned = " earned: BigInt => i64,
        ", redeemed = " redeemed: BigInt => i64,
        ", expired = " expired: BigInt => i64,
        ", reversed = " reversed: BigInt => i64,
        ", tier = " tier: Nullable<Text> => Option<String>,
        ", best_tier_rank = " best_tier_rank: Nullable<Integer> => Option<i32>,
        ", updated_at = " updated_at: Timestamp => NaiveDateTime,
        ", settle_due_at = " settle_due_at: Nullable<Timestamp> => Option<NaiveDateTime>,
        ", referral_earned = " referral_earned: BigInt => i64,
        ", version = version + 1 WHERE id = " id: Text => String,
    } ""
}

statement! {
    /// Moves `delta` points into (positive) or out of (negative) a lot.
    MoveLot {
        "UPDATE point_lots SET remaining = remaining + " delta: BigInt => i64,
        " WHERE id = " id: Text => String,
    } ""
}

statement! {
    /// Adds `amount` to a membership's qualifying spend of one day.
    AddSpendDay {
        "UPDATE qualifying_spend_days SET amount = amount + " amount: BigInt => i64,
        " WHERE membership_id = " membership_id: Text => str,
        " AND day = " day: Date => chrono::NaiveDate,
    } ""
}
