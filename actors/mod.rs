//! The agent runtime: a supervisor and its actors (ractor). Actors own state and talk by messages;
//! the work itself is done by the plain functions in `src/`.
