//! hookhub's API through its real router, a real database (a SQLite file, or
//! PostgreSQL with HOOKHUB_TEST_BACKEND=postgres) and port 0.

mod bodies;
mod console;
mod delivery;
mod faults;

mod helpers;
mod idempotency;
mod instances;
mod logs;
mod metrics;
mod objects;
mod openapi;
mod operator;
mod ordering;
mod outage;
mod paging;
mod paused;
mod postgres;
mod process;
mod receiver;
mod rounds;
mod routing;
mod session;
mod signed;
mod throttles;
mod triggers;
mod users;
mod webhooks;
