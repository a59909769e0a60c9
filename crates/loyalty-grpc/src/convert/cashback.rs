//! A cashback wallet on the wire: every amount is money in the program's currency, padded to
//! its decimals ("12.50").

use loyalty_core::cashback::CashbackStatus;
use loyalty_core::{Balances, Currency, Points};
use loyalty_store::{CashbackLine, CashbackRecord, CashbackWallet};

use super::ledger::{amount_to_pb, money_to_pb};
use super::time_to_pb;
use crate::pb;

fn cash(points: Points, currency: Currency) -> String {
    amount_to_pb(points.value(), currency)
}

/// A wallet's balances as money.
fn balances_to_pb(b: &Balances, currency: Currency) -> pb::Balances {
    pb::Balances {
        available: cash(b.available, currency),
        pending: cash(b.pending, currency),
        held: cash(b.held, currency),
        debt: cash(b.debt, currency),
        earned: cash(b.earned, currency),
        redeemed: cash(b.redeemed, currency),
        expired: cash(b.expired, currency),
        reversed: cash(b.reversed, currency),
    }
}

fn status_to_pb(status: CashbackStatus) -> pb::CashbackStatus {
    match status {
        CashbackStatus::Pending => pb::CashbackStatus::Pending,
        CashbackStatus::Processed => pb::CashbackStatus::Processed,
        CashbackStatus::Reversed => pb::CashbackStatus::Reversed,
    }
}

fn line_to_pb(l: &CashbackLine, currency: Currency) -> pb::CashbackLine {
    pb::CashbackLine {
        category: l.category.clone().unwrap_or_default(),
        amount: money_to_pb(&l.amount),
        percent: l.percent.normalize().to_string(),
        cashback_amount: cash(l.cashback, currency),
    }
}

fn record_to_pb(r: &CashbackRecord, currency: Currency) -> pb::CashbackRecord {
    pb::CashbackRecord {
        reference: r.reference.clone(),
        bill_total: money_to_pb(&r.bill_total),
        transaction_amount: money_to_pb(&r.transaction_amount),
        percent: r.percent.normalize().to_string(),
        cashback_amount: cash(r.cashback, currency),
        campaign_amount: cash(r.campaign_cashback, currency),
        campaign_ids: r.campaign_ids.clone(),
        reversed_amount: cash(r.reversed, currency),
        returned_amount: money_to_pb(&r.returned),
        status: status_to_pb(r.status) as i32,
        earned_at: time_to_pb(r.earned_at),
        available_from: time_to_pb(r.available_from),
        lines: r.lines.iter().map(|l| line_to_pb(l, currency)).collect(),
    }
}

/// A member's cashback wallet on the wire.
pub fn wallet_to_pb(w: &CashbackWallet) -> pb::ListCashbackRecordsResponse {
    pb::ListCashbackRecordsResponse {
        currency: w.currency.code().to_owned(),
        balances: Some(balances_to_pb(&w.balances, w.currency)),
        records: w
            .records
            .iter()
            .map(|r| record_to_pb(r, w.currency))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cashback_is_shown_with_the_currency_decimals() {
        let eur = Currency::new("EUR").unwrap();
        assert_eq!(cash("12.5".parse().unwrap(), eur), "12.50");
        assert_eq!(cash(Points::ZERO, eur), "0.00");
        let jpy = Currency::new("JPY").unwrap();
        assert_eq!(cash("125".parse().unwrap(), jpy), "125");
    }
}
