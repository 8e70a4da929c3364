//! The web app people use: server-rendered Leptos pages (plain HTML, no hydration) and the
//! server functions their forms post to, each answering with a post/redirect/get.
pub mod actions;
pub mod domains;
pub mod guards;
pub mod pages;
pub mod routes;
pub mod session;
pub mod shell;
