// Package sts is Tollgate's built-in OAuth2 token service: it issues access tokens
// (RFC 9068 JWTs) to the applications of the catalog for the client credentials it
// holds in the store.
//
// This part of it is the cryptography the service rests on. A Sealer, derived from one
// master key that lives outside the store (TOLLGATE_STORE_KEY or a key file), seals the
// signing keys' private halves and hashes client secrets, so a copy of the store alone
// yields neither. NewSecret and NewClientID mint client credentials. GenerateSigningKey,
// OpenSigningKey and the Signer create, unseal and use the signing keys, named by their
// RFC 7638 thumbprint; JWKS publishes their public halves.
package sts
