//! The account's data in the web app: its workspaces (home), one workspace with its records,
//! one record; and the server functions their forms post to. Every member may work here
//! (`auth::DataAccess`); the flows are the API's (`flows::data`).
pub mod actions;
pub mod pages;
pub mod record;
