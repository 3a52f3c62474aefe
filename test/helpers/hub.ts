/** What @textile/hub's Client.withUserAuth(callback) sends with each call: the headers a Hub app sees. */
import { Client, type UserAuth } from '@textile/hub';

export async function hubHeaders(callback: () => Promise<UserAuth>): Promise<Record<string, string[]>> {
  const metadata = await Client.withUserAuth(callback).context.toMetadata();
  return (metadata as unknown as { headersMap: Record<string, string[]> }).headersMap;
}
