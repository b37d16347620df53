/**
 * Agent key hashes as Wazuh's registration stores them in `wazuh-agents`, made with Python the way
 * Wazuh makes them (framework/wazuh/core/indexer/models/agent.py, `Agent.hash_key`):
 *
 *   salt = os.urandom(16)
 *   key_hash = hashlib.pbkdf2_hmac('sha256', key.encode('utf-8'), salt, 100000)
 *   stored = base64.b64encode(salt + key_hash).decode('latin-1')
 */
export const WAZUH_KEY_VECTORS = [
  {
    key: 'BfDbq0PpcLl9iWatJjY1shGvuQ4KXyOR',
    saltHex: '0f4f6bd7e9ff60c83fda5d303a992f41',
    stored: 'D09r1+n/YMg/2l0wOpkvQS7F0BwjhynPxnr18cGkjOZkNTbZHWYOxRqJttp81JDq',
  },
  // The key is hashed as UTF-8.
  {
    key: 'clé-ñ-测试-0123456789',
    saltHex: '1b4cbdd79f41aaca8d81540bc8006205',
    stored: 'G0y9159BqsqNgVQLyABiBV5S7+FkgVr3tpeyjg+23fnHhVQ4GOn4sPoXEYfmyb9X',
  },
] as const;
