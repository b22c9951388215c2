//! The store conformance suite: the `MetadataStore` contract, checked through the trait so
//! that every backend runs the same tests (SQLite here; PostgreSQL joins with its backend).

mod captions;
mod embeddings;
mod jobs;
mod photos;
mod roots;
mod status;
mod support;
mod tags;
mod users;
