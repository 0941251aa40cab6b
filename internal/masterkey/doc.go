// Package masterkey keeps the store and the master keys of every hookd
// process in agreement, and moves webhook secrets from one master key to
// another without stopping the service.
//
// The store records, under MetaKey, the fingerprints of the master keys that
// webhook secrets may be sealed under: one normally, two while a rotation
// runs. A process starts only if it holds every recorded key (its
// --master-key, which seals, and its --previous-master-keys, which only
// open); if its sealing key is not recorded yet, it records it before it
// seals anything with it (Check). From then on a process without the new key
// is refused at start instead of failing to decrypt later.
//
// Rotate re-encrypts every webhook secret under the new key, in batches, each
// one with a compare-and-swap on its ciphertext, so it runs safely beside
// serving processes and their rotate-secret calls and can be run again after
// an interruption. Once a full pass finds nothing left to change it records
// the new key alone: the old one is no longer needed by the store (only by
// backups made before).
package masterkey
