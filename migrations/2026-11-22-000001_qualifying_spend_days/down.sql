DROP TABLE qualifying_spend_days;
