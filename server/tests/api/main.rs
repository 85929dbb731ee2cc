//! hookhub's API through its real router, a real SQLite file and port 0.

mod bodies;
mod console;
mod delivery;
mod helpers;
mod logs;
mod objects;
mod postgres;
mod process;
mod receiver;
mod rounds;
mod session;
mod triggers;
mod users;
mod webhooks;
