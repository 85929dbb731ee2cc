//! hookhub's API through its real router, a real SQLite file and port 0.

mod console;
mod helpers;
mod session;
mod webhooks;
