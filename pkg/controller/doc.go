// Package controller holds the mechanics every kstack reconcile loop shares
// (STYLE.md habit 2): a rate-limited workqueue of namespace/name keys and
// the worker loop that drains it, expectations that stop a slow informer
// from causing double creates or deletes, pod ranking and availability,
// pods made from a template, and the claim (adopt/release) of objects
// through controller ownerReferences.
//
// Each controller lives in its own package under pkg/controller/<name>/:
//
//	informer event ──► handler: enqueue "ns/name" ──► Queue ──► worker
//	                                                         │
//	                       sync(ctx, key): lister read, desired vs actual,
//	                       act through the API, write status; idempotent
package controller
