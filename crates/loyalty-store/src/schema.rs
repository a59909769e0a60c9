// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        role -> Text,
        member_id -> Nullable<Text>,
        label -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bills (id) {
        id -> Text,
        tenant_id -> Text,
        membership_id -> Text,
        reference -> Text,
        total -> BigInt,
        earn_amount -> BigInt,
        returned -> BigInt,
        earned -> BigInt,
        earned_reversed -> BigInt,
        referrer_membership_id -> Nullable<Text>,
        referral -> BigInt,
        referral_reversed -> BigInt,
        redeemed -> BigInt,
        redeemed_value -> BigInt,
        redeemed_returned -> BigInt,
        earned_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    campaign_usage (campaign_id, membership_id) {
        campaign_id -> Text,
        membership_id -> Text,
        awarded -> BigInt,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Text,
        tenant_id -> Text,
        program_id -> Text,
        name -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        weekdays -> Text,
        categories -> Text,
        min_bill -> Nullable<BigInt>,
        effect_kind -> Text,
        effect_value -> Text,
        priority -> Integer,
        member_cap -> Nullable<BigInt>,
        budget -> Nullable<BigInt>,
        awarded -> BigInt,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    earn_lines (bill_id, line_no) {
        bill_id -> Text,
        line_no -> Integer,
        category -> Nullable<Text>,
        rule -> Text,
        rate -> Text,
        amount -> BigInt,
        base_points -> BigInt,
        tier_bonus -> BigInt,
        campaign_bonus -> BigInt,
        points -> BigInt,
    }
}

diesel::table! {
    holds (id) {
        id -> Text,
        tenant_id -> Text,
        membership_id -> Text,
        reference -> Text,
        points -> BigInt,
        value -> BigInt,
        bill_total -> BigInt,
        to_pay -> BigInt,
        captured -> BigInt,
        status -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_records (tenant_id, key) {
        tenant_id -> Text,
        key -> Text,
        operation -> Text,
        fingerprint -> Text,
        response -> Text,
        created_at -> Timestamp,
        outcome -> Text,
    }
}

diesel::table! {
    ledger_changes (tenant_id, id) {
        tenant_id -> Text,
        id -> BigInt,
        seq -> Nullable<BigInt>,
        kind -> Text,
        ref_id -> Text,
        membership_id -> Text,
        state -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Text,
        tenant_id -> Text,
        membership_id -> Text,
        program_id -> Text,
        member_id -> Text,
        kind -> Text,
        points -> BigInt,
        d_available -> BigInt,
        d_pending -> BigInt,
        d_held -> BigInt,
        d_debt -> BigInt,
        balance_after -> BigInt,
        reference -> Nullable<Text>,
        hold_id -> Nullable<Text>,
        campaign_id -> Nullable<Text>,
        source_member_id -> Nullable<Text>,
        actor -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
        available_after -> BigInt,
        pending_after -> BigInt,
        held_after -> BigInt,
        debt_after -> BigInt,
        earned_after -> BigInt,
        redeemed_after -> BigInt,
        expired_after -> BigInt,
        reversed_after -> BigInt,
        referral_after -> BigInt,
    }
}

diesel::table! {
    ledger_stream_heads (tenant_id) {
        tenant_id -> Text,
        last_seq -> BigInt,
    }
}

diesel::table! {
    lot_allocations (id) {
        id -> Text,
        tenant_id -> Text,
        lot_id -> Text,
        entry_id -> Text,
        hold_id -> Nullable<Text>,
        points -> BigInt,
    }
}

diesel::table! {
    members (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        card_number -> Text,
        name -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        referrer_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    memberships (id) {
        id -> Text,
        tenant_id -> Text,
        member_id -> Text,
        program_id -> Text,
        available -> BigInt,
        pending -> BigInt,
        held -> BigInt,
        debt -> BigInt,
        earned -> BigInt,
        redeemed -> BigInt,
        expired -> BigInt,
        reversed -> BigInt,
        tier -> Nullable<Text>,
        best_tier_rank -> Nullable<Integer>,
        version -> BigInt,
        joined_at -> Timestamp,
        updated_at -> Timestamp,
        settle_due_at -> Nullable<Timestamp>,
        referral_earned -> BigInt,
    }
}

diesel::table! {
    point_lots (id) {
        id -> Text,
        tenant_id -> Text,
        membership_id -> Text,
        entry_id -> Text,
        reference -> Nullable<Text>,
        amount -> BigInt,
        remaining -> BigInt,
        pending -> Bool,
        spendable_from -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    program_actions (program_id, action) {
        program_id -> Text,
        action -> Text,
        points -> BigInt,
    }
}

diesel::table! {
    program_categories (program_id, category) {
        program_id -> Text,
        category -> Text,
        earn_percent -> Nullable<Text>,
        discount_percent -> Nullable<Text>,
    }
}

diesel::table! {
    program_tiers (program_id, rank) {
        program_id -> Text,
        rank -> Integer,
        name -> Text,
        threshold -> BigInt,
        multiplier -> Text,
        upgrade_bonus -> BigInt,
    }
}

diesel::table! {
    programs (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        enabled -> Bool,
        currency -> Text,
        point_decimals -> Integer,
        rounding -> Text,
        base_points -> BigInt,
        base_per -> BigInt,
        earn_cap_per_bill -> Nullable<BigInt>,
        earn_basis -> Text,
        referral_percent -> Text,
        redemption_points -> Nullable<BigInt>,
        redemption_value -> Nullable<BigInt>,
        min_redemption_points -> Nullable<BigInt>,
        max_bill_share -> Nullable<Text>,
        max_points_per_bill -> Nullable<BigInt>,
        expiry_months -> Nullable<Integer>,
        pending_days -> Integer,
        return_policy -> Text,
        bill_discount_kind -> Nullable<Text>,
        bill_discount_value -> Nullable<Text>,
        bill_discount_minimum -> Nullable<BigInt>,
        redemptions_per_minute -> Nullable<Integer>,
        tier_basis -> Text,
        tier_window_days -> Nullable<Integer>,
        utc_offset_minutes -> Integer,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        max_bill_age_days -> Nullable<Integer>,
        kind -> Text,
    }
}

diesel::table! {
    qualifying_spend_days (membership_id, day) {
        membership_id -> Text,
        day -> Date,
        amount -> BigInt,
    }
}

diesel::table! {
    redemption_attempts (id) {
        id -> Text,
        membership_id -> Text,
        attempted_at -> Timestamp,
    }
}

diesel::table! {
    reward_redemptions (id) {
        id -> Text,
        tenant_id -> Text,
        membership_id -> Text,
        reward_id -> Text,
        entry_id -> Text,
        points -> BigInt,
        coupon_code -> Nullable<Text>,
        status -> Text,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        return_entry_id -> Nullable<Text>,
    }
}

diesel::table! {
    rewards (id) {
        id -> Text,
        tenant_id -> Text,
        program_id -> Text,
        name -> Text,
        kind -> Text,
        value -> Nullable<BigInt>,
        cost -> BigInt,
        validity_days -> Nullable<Integer>,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::joinable!(bills -> tenants (tenant_id));
diesel::joinable!(campaign_usage -> campaigns (campaign_id));
diesel::joinable!(campaign_usage -> memberships (membership_id));
diesel::joinable!(campaigns -> programs (program_id));
diesel::joinable!(earn_lines -> bills (bill_id));
diesel::joinable!(campaigns -> tenants (tenant_id));
diesel::joinable!(holds -> memberships (membership_id));
diesel::joinable!(holds -> tenants (tenant_id));
diesel::joinable!(ledger_entries -> members (member_id));
diesel::joinable!(ledger_entries -> memberships (membership_id));
diesel::joinable!(ledger_entries -> programs (program_id));
diesel::joinable!(ledger_entries -> tenants (tenant_id));
diesel::joinable!(lot_allocations -> holds (hold_id));
diesel::joinable!(lot_allocations -> ledger_entries (entry_id));
diesel::joinable!(lot_allocations -> point_lots (lot_id));
diesel::joinable!(lot_allocations -> tenants (tenant_id));
diesel::joinable!(members -> tenants (tenant_id));
diesel::joinable!(memberships -> members (member_id));
diesel::joinable!(memberships -> programs (program_id));
diesel::joinable!(memberships -> tenants (tenant_id));
diesel::joinable!(point_lots -> ledger_entries (entry_id));
diesel::joinable!(point_lots -> memberships (membership_id));
diesel::joinable!(point_lots -> tenants (tenant_id));
diesel::joinable!(program_actions -> programs (program_id));
diesel::joinable!(program_categories -> programs (program_id));
diesel::joinable!(program_tiers -> programs (program_id));
diesel::joinable!(programs -> tenants (tenant_id));
diesel::joinable!(qualifying_spend_days -> memberships (membership_id));
diesel::joinable!(redemption_attempts -> memberships (membership_id));
diesel::joinable!(reward_redemptions -> ledger_entries (entry_id));
diesel::joinable!(reward_redemptions -> memberships (membership_id));
diesel::joinable!(reward_redemptions -> rewards (reward_id));
diesel::joinable!(reward_redemptions -> tenants (tenant_id));
diesel::joinable!(rewards -> programs (program_id));
diesel::joinable!(rewards -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    bills,
    campaign_usage,
    campaigns,
    earn_lines,
    holds,
    idempotency_records,
    ledger_changes,
    ledger_entries,
    ledger_stream_heads,
    lot_allocations,
    members,
    memberships,
    point_lots,
    program_actions,
    program_categories,
    program_tiers,
    programs,
    qualifying_spend_days,
    redemption_attempts,
    reward_redemptions,
    rewards,
    tenants,
);
