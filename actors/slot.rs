//! [`Slot`]: where one actor is found. The supervisor sets it again when it restarts the actor,
//! so nobody holds a stale reference for long.

use std::sync::{Arc, RwLock};

use ractor::ActorRef;

/// The current reference to one actor, shared by every clone.
pub struct Slot<M>(Arc<RwLock<Option<ActorRef<M>>>>);

impl<M> Clone for Slot<M> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<M> Default for Slot<M> {
    fn default() -> Self {
        Slot(Arc::default())
    }
}

impl<M> Slot<M> {
    /// The actor, once started.
    pub fn get(&self) -> Option<ActorRef<M>> {
        self.0.read().ok().and_then(|g| g.clone())
    }

    pub fn set(&self, actor: ActorRef<M>) {
        if let Ok(mut g) = self.0.write() {
            *g = Some(actor);
        }
    }

    /// The actor is gone for good (not to be restarted).
    pub fn clear(&self) {
        if let Ok(mut g) = self.0.write() {
            *g = None;
        }
    }
}
