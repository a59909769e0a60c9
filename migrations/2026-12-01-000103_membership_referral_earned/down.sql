ALTER TABLE memberships DROP COLUMN referral_earned;
