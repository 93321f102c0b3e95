// The portable specs on Node through the Node entry, which installs Node's key backend: both backends pass the same tests.
import "@dk-bootstrap/pki";
import "./portable/pki.spec.js";
