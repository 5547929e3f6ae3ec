"""Trading: the TradingSystem protocol, paper and live, records, stores, risk, settlement,
reconciliation and notifications."""
