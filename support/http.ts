/** `Authorization: Basic` for a client id and secret (client_secret_basic). */
export function basicAuth(clientId: string, clientSecret: string): string {
  // RFC 6749 §2.3.1: both parts are form-urlencoded before base64
  const encode = (value: string) => encodeURIComponent(value);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}
