/**
 * Where a panel's API key may go, and which environment variables may be sent as one. Checked
 * when a panel loads (so before any connection, by every command), and again by
 * {@link providerGet} for the addresses that are never allowed.
 *
 * - A key goes over https, or over plain http to loopback (127.0.0.0/8, ::1, `localhost`).
 *   Plain http to any other host only with `"allowInsecureHttp": true` in the panel file.
 * - Link-local and cloud-metadata addresses are refused whatever the scheme or flag:
 *   169.254.0.0/16, fe80::/10 (also written as an IPv4-mapped IPv6 address), fd00:ec2::254,
 *   100.100.100.200, and the names in {@link METADATA_HOSTS}. Names are checked as written;
 *   a name that merely resolves to such an address is not detected here.
 * - `apiKeyEnv` must look like a model key: letters, digits and `_`, ending in `KEY`, `APIKEY`
 *   or `TOKEN` after a `_` (or being just that word), and not a well-known cloud, CI or
 *   infrastructure credential (see {@link apiKeyEnvProblem}).
 */

/** Host names of cloud metadata services (lower case, no trailing dot). */
export const METADATA_HOSTS: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.platformequinix.com',
]);

/** Exact names that are credentials of something other than a model provider. */
const DENIED_NAMES: ReadonlySet<string> = new Set([
  'GOOGLE_APPLICATION_CREDENTIALS',
  'GOOGLE_OAUTH_ACCESS_TOKEN',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'GITHUB_ENTERPRISE_TOKEN',
  'GH_ENTERPRISE_TOKEN',
  'GITLAB_TOKEN',
  'CI_JOB_TOKEN',
  'NPM_TOKEN',
  'NODE_AUTH_TOKEN',
  'VAULT_TOKEN',
  'CONSUL_HTTP_TOKEN',
  'NOMAD_TOKEN',
  'DIGITALOCEAN_TOKEN',
  'DIGITALOCEAN_ACCESS_TOKEN',
  'HCLOUD_TOKEN',
  'LINODE_TOKEN',
  'CLOUDFLARE_API_TOKEN',
  'CLOUDFLARE_API_KEY',
  'HEROKU_API_KEY',
]);

/** Prefixes of cloud and CI credential families (AZURE_OPENAI_ and AZURE_AI_ are model keys). */
const DENIED_PREFIXES = ['AWS_', 'AZURE_', 'ARM_', 'GCP_', 'GCLOUD_', 'CLOUDSDK_', 'GOOGLE_CLOUD_', 'ALIBABA_CLOUD_', 'ALICLOUD_', 'OCI_', 'TENCENTCLOUD_', 'ACTIONS_', 'RUNNER_', 'KUBE_', 'KUBERNETES_'];
const ALLOWED_PREFIXES = ['AZURE_OPENAI_', 'AZURE_AI_'];

/** `_`-separated words that mark a secret that is not a bearer key for a model API. */
const DENIED_WORDS = /(^|_)(SECRET|PRIVATE|PASSWORD|PASSWD|SESSION|SIGNING|ENCRYPTION|REFRESH|ACCESS_KEY)(_|$)/;

/** Why `name` may not be a panel's `apiKeyEnv`, or undefined when it may. */
export function apiKeyEnvProblem(name: string): string | undefined {
  const upper = name.toUpperCase();
  const credential = `${name} is not a model API key variable`;
  const advice = 'export your model key under its own name (e.g. OPENROUTER_API_KEY) and name that';
  if (DENIED_NAMES.has(upper) || (DENIED_PREFIXES.some((p) => upper.startsWith(p)) && !ALLOWED_PREFIXES.some((p) => upper.startsWith(p)))) {
    return `${credential}: it is a well-known cloud, CI or infrastructure credential, and quorum would send it as a Bearer token; ${advice}`;
  }
  if (DENIED_WORDS.test(upper)) return `${credential}: a name with SECRET, PRIVATE, PASSWORD, SESSION, SIGNING, ENCRYPTION, REFRESH or ACCESS_KEY in it holds another kind of secret; ${advice}`;
  if (!/(^|_)(API_?KEY|KEY|TOKEN)$/.test(upper)) return `expected a name ending in _KEY, _API_KEY or _TOKEN (e.g. OPENROUTER_API_KEY, OLLAMA_KEY, HF_TOKEN), got ${name}`;
  return undefined;
}

/** What kind of host a base URL names, for the key rules and for `quorum panel`. */
export type HostKind = 'loopback' | 'metadata' | 'remote';

/** The URL's host name, lower case, without brackets or a trailing dot. */
function bareHost(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

/** `::ffff:a9fe:a9fe` (how URL writes `::ffff:169.254.169.254`) → `169.254.169.254`. */
function mappedIPv4(host: string): string | undefined {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!m) return undefined;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function ipv4Kind(host: string): HostKind | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m) return undefined;
  const [a, b] = [Number(m[1]), Number(m[2])];
  if (a === 127) return 'loopback';
  if ((a === 169 && b === 254) || host === '100.100.100.200') return 'metadata';
  return 'remote';
}

/**
 * Whether `baseURL` points at this machine (127.0.0.0/8, ::1, `localhost`): the one loopback test,
 * shared by the key rules, the key placeholder for local servers and `quorum panel --check`.
 * False for a URL that does not parse.
 */
export function isLoopbackURL(baseURL: string): boolean {
  try {
    return hostKind(new URL(baseURL)) === 'loopback';
  } catch {
    return false;
  }
}

export function hostKind(url: URL): HostKind {
  const host = bareHost(url);
  if (host === 'localhost') return 'loopback';
  if (METADATA_HOSTS.has(host)) return 'metadata';
  const v4 = ipv4Kind(host) ?? (host.includes(':') ? ipv4Kind(mappedIPv4(host) ?? '') : undefined);
  if (v4) return v4;
  if (host.includes(':')) {
    if (host === '::1') return 'loopback';
    const first = parseInt(host.split(':')[0] || '0', 16);
    if ((first & 0xffc0) === 0xfe80) return 'metadata'; // fe80::/10, link-local
    if (host === 'fd00:ec2::254') return 'metadata';
  }
  return 'remote';
}

/**
 * Why a key may not be sent to `baseURL`, as the rest of a sentence starting with the URL, or
 * undefined when it may. `allowInsecureHttp` lets plain http reach a non-loopback host.
 */
export function endpointProblem(baseURL: string, apiKeyEnv: string, allowInsecureHttp = false): string | undefined {
  let url: URL;
  try {
    url = new URL(baseURL);
  } catch {
    return 'is not a URL (expected e.g. https://openrouter.ai/api/v1)';
  }
  const kind = hostKind(url);
  if (kind === 'metadata') return `is a link-local or cloud-metadata address; quorum never sends requests there`;
  if (url.protocol === 'https:' || kind === 'loopback') return undefined;
  if (url.protocol !== 'http:') return 'expected an http(s) URL';
  if (allowInsecureHttp) return undefined;
  return `is plain http to a host that is not loopback, so ${apiKeyEnv} and every prompt would cross the network unencrypted; use https, or add "allowInsecureHttp": true to the panel file (top level or this member) if that host is yours`;
}

/** "openrouter.ai", "192.168.1.20:11434 (plain http)": where a key is sent, for `quorum panel`. */
export function keyDestination(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    const insecure = url.protocol === 'http:' && hostKind(url) !== 'loopback';
    return `${url.host}${url.protocol === 'http:' ? (insecure ? ' (plain http, allowInsecureHttp)' : ' (http, loopback)') : ''}`;
  } catch {
    return baseURL;
  }
}
