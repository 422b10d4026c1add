//! The README's "Proxy for apps in any language" commands, run as written (with free ports).
