// Drives the real Apollo Client 4 against a running service and prints what it saw as JSON.
// Usage: node apollo_client.mjs <base url>   (tests/test_apollo_client.py runs it)
import { createHash } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { CombinedGraphQLErrors, ServerError } from "@apollo/client/errors";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const base = process.argv[2];
const exchanges = [];

// fetch, recording each request and the status and media type of its answer
async function recordingFetch(url, init) {
  const response = await fetch(url, init);
  exchanges.push({
    method: init.method,
    url: String(url).slice(base.length),
    accept: new Headers(init.headers).get("accept"),
    body: init.body ? JSON.parse(init.body) : null,
    status: response.status,
    contentType: response.headers.get("content-type"),
  });
  return response;
}

function client(...links) {
  return new ApolloClient({ link: ApolloLink.from(links), cache: new InMemoryCache() });
}

function http(options = {}) {
  return new HttpLink({ uri: `${base}/graphql`, fetch: recordingFetch, ...options });
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

function describe(result) {
  const { error } = result;
  let kind = null;
  if (CombinedGraphQLErrors.is(error)) kind = "CombinedGraphQLErrors";
  else if (ServerError.is(error)) kind = "ServerError";
  else if (error) kind = error.name;
  const codes = CombinedGraphQLErrors.is(error) ? error.errors.map((e) => e.extensions?.code) : [];
  return { kind, codes, data: result.data ?? null };
}

async function run(name, operation) {
  exchanges.length = 0;
  const result = await operation();
  return [name, { ...describe(result), exchanges: [...exchanges] }];
}

const options = { fetchPolicy: "no-cache", errorPolicy: "all" };
const login = gql`
  mutation Login($username: String!, $password: String!) {
    login(options: { username: $username, password: $password }) { user { id } }
  }
`;
const posts = gql`query Posts { posts(limit: 5) { id title } }`;

const scenarios = [
  ["hello", () => client(http()).query({ query: gql`{ hello }`, ...options })],
  ["validation", () => client(http()).query({ query: gql`{ nope }`, ...options })],
  [
    "variables",
    () =>
      client(http()).query({
        query: gql`query Post($id: Int!) { post(id: $id) { id } }`,
        variables: { id: "x" },
        ...options,
      }),
  ],
  [
    "too-large",
    () =>
      client(http()).mutate({
        mutation: gql`mutation Create($title: String!) { createPost(title: $title) { id } }`,
        variables: { title: "t".repeat(100_000) },
        errorPolicy: "all",
      }),
  ],
  [
    "rate-limited",
    async () => {
      const variables = { username: "nobody", password: "wrong horse!" };
      const apollo = client(http());
      for (let attempt = 0; attempt < 100; attempt += 1) {
        exchanges.length = 0;
        const result = await apollo.mutate({ mutation: login, variables, errorPolicy: "all" });
        if (result.error) return result; // the per-IP limit (50 attempts in 15 minutes)
      }
      throw new Error("login was never rate limited");
    },
  ],
  ["get", () => client(http({ useGETForQueries: true })).query({ query: gql`{ hello }`, ...options })],
  ["apq-register", () => client(new PersistedQueryLink({ sha256 }), http()).query({ query: posts, ...options })],
  ["apq-hash-only", () => client(new PersistedQueryLink({ sha256 }), http()).query({ query: posts, ...options })],
  [
    "apq-get",
    () =>
      client(new PersistedQueryLink({ sha256, useGETForHashedQueries: true }), http()).query({
        query: posts,
        ...options,
      }),
  ],
];

const report = {};
for (const [name, operation] of scenarios) {
  const [key, value] = await run(name, operation);
  report[key] = value;
}
process.stdout.write(JSON.stringify(report));
