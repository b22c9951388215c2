//! Users, sessions and API tokens.

use shoebox_core::{MetadataStore, Role};
use time::{Duration, OffsetDateTime};

use crate::support::store;

#[tokio::test]
async fn sessions_are_listed_per_user_and_revoked_one_or_all() -> anyhow::Result<()> {
    let f = store().await?;
    let Some(admin) = f.store.create_first_admin("ada", "hash-a").await? else {
        anyhow::bail!("the first admin was not created");
    };
    let bob = f.store.create_user("bob", "hash-b", Role::Member).await?;
    let later = OffsetDateTime::now_utc() + Duration::days(1);
    for (hash, user) in [([1; 32], admin.id), ([2; 32], admin.id), ([3; 32], bob.id)] {
        f.store.create_session(hash, user, "csrf", later).await?;
    }
    // One already expired: neither listed nor usable.
    let past = OffsetDateTime::now_utc() - Duration::seconds(1);
    f.store
        .create_session([4; 32], admin.id, "csrf", past)
        .await?;

    let ids = |list: Vec<shoebox_core::SessionInfo>| -> Vec<String> {
        let mut ids: Vec<String> = list.into_iter().map(|s| s.id).collect();
        ids.sort();
        ids
    };
    let hex = |b: u8| format!("{b:02x}").repeat(32);
    assert_eq!(ids(f.store.sessions(admin.id).await?), vec![hex(1), hex(2)]);
    assert_eq!(ids(f.store.sessions(bob.id).await?), vec![hex(3)]);

    // Revoking one: only its owner's, only that one.
    assert!(!f.store.delete_user_session(bob.id, [1; 32]).await?);
    assert!(f.store.session([1; 32]).await?.is_some());
    assert!(f.store.delete_user_session(admin.id, [1; 32]).await?);
    assert!(f.store.session([1; 32]).await?.is_none());
    assert!(f.store.session([2; 32]).await?.is_some());

    // Signing bob out everywhere leaves the admin's session.
    assert_eq!(f.store.delete_user_sessions(bob.id).await?, 1);
    assert!(f.store.session([3; 32]).await?.is_none());
    assert!(f.store.session([2; 32]).await?.is_some());

    let names: Vec<String> = f.store.users().await?.into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["ada", "bob"]);
    Ok(())
}
