// Package bundle writes and verifies export bundles: the checksummed, write-once record of a
// user's conversations that an auditor can verify without Genesys access.
//
// # Layout
//
// A bundle is the set of objects under one prefix, "<userId>/<runId>/" in the export store:
//
//	part-00000.ndjson.gz ...  conversations, one JSON object per line, exactly as Genesys returned
//	                          them (only insignificant whitespace is removed if an object spanned lines);
//	                          gzip without name or modification time, so equal content gives equal bytes
//	user.json                 the user as found before any change
//	access.json               the user's access before any change (grants, queues, station, ...), when recorded
//	manifest.json             what the bundle holds (Manifest), written last, once the export is complete
//	audit.json                the offboarding's audit record
//
// A conversation appears in exactly one part. Parts are numbered from 00000 without gaps.
//
// # Manifest digest
//
// manifest.json carries manifestSha256: the lower-case hex SHA-256 of the manifest's canonical
// form, which is the JSON Canonicalization Scheme (RFC 8785) serialisation of the manifest with
// manifestSha256 set to the empty string. The manifest holds only objects, arrays, strings and
// integers, so the canonical form is: object members sorted by key, no whitespace, strings
// escaped as \" \\ \b \f \n \r \t or \u00xx (lower-case) for other control characters and
// otherwise written as UTF-8. To recompute it by hand:
//
//	python3 -c 'import json,hashlib; m=json.load(open("manifest.json")); m["manifestSha256"]="";
//	print(hashlib.sha256(json.dumps(m,sort_keys=True,separators=(",",":"),ensure_ascii=False).encode()).hexdigest())'
//
// Each part's sha256 and bytes are those of the stored (compressed) object, so `sha256sum
// part-00000.ndjson.gz` checks it; conversations is its number of lines.
//
// # Verifying
//
// Verify and VerifyURL check a bundle with no Genesys access: every part's size and digest, its
// line count, that every line is a JSON object with a conversationId that no other line repeats
// and a conversationStart within the manifest's window, that no part is missing or unlisted, the
// totals, the digests of the user snapshot and of the access snapshot (when the manifest records one) and
// the manifest digest. The Report names every discrepancy.
package bundle
