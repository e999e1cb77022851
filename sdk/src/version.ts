/**
 * The SDK's version (sdk/package.json; a test keeps them equal), recorded in every manifest it packs.
 *
 * @example
 * console.log(`packed with @hearth/sdk ${SDK_VERSION}`);
 */
export const SDK_VERSION = '0.1.0';
