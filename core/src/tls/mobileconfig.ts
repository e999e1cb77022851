/**
 * An Apple configuration profile (`.mobileconfig`) carrying the box's root CA, for iOS and
 * macOS, which install a CA from a profile. Its UUIDs come from the CA's fingerprint, so
 * the same CA gives the same profile, and a new CA replaces nothing of another box's.
 */
export function appleProfile(o: { der: Buffer; fingerprint: string; hostname: string }): string {
  const uuid = (salt: string) => {
    const h = o.fingerprint.slice(salt === 'profile' ? 0 : 32, salt === 'profile' ? 32 : 64).padEnd(32, '0');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
  };
  const name = escapeXml(`Hearth CA (${o.hostname})`);
  const id = `local.hearth.${o.hostname.replace(/[^A-Za-z0-9-]/g, '-')}.ca`;
  const data = o.der.toString('base64').replace(/.{1,64}/g, '\t\t\t$&\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadCertificateFileName</key>
			<string>hearth-ca.cer</string>
			<key>PayloadContent</key>
			<data>
${data}			</data>
			<key>PayloadDescription</key>
			<string>Adds the box's root certificate</string>
			<key>PayloadDisplayName</key>
			<string>${name}</string>
			<key>PayloadIdentifier</key>
			<string>${id}.root</string>
			<key>PayloadType</key>
			<string>com.apple.security.root</string>
			<key>PayloadUUID</key>
			<string>${uuid('root')}</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
	</array>
	<key>PayloadDescription</key>
	<string>Lets this device trust your Hearth box at ${escapeXml(o.hostname)}.local. The certificate can vouch only for .local, .internal, .home.arpa names and private addresses.</string>
	<key>PayloadDisplayName</key>
	<string>${name}</string>
	<key>PayloadIdentifier</key>
	<string>${id}</string>
	<key>PayloadRemovalDisallowed</key>
	<false/>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>${uuid('profile')}</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
