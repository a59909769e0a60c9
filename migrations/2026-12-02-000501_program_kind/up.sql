-- Cashback wallets: what a program's balance is. 'points' (what every program stored before
-- this migration keeps) or 'cashback' (money in the program's currency, spent 1:1). Same
-- conventions as the first migration; one SQL text serves both backends.
ALTER TABLE programs ADD COLUMN kind TEXT NOT NULL DEFAULT 'points'
    CHECK (kind IN ('points', 'cashback'));
