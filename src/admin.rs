//! Administration without a browser: users, accounts, members and API keys,
//! working on the same database as a running server.

use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use chrono::{DateTime, Utc};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::apikey;
use crate::auth::Scopes;
use crate::cli::{
    AccountAddArgs, AccountCommand, EncryptionKeyCommand, KeyCommand, MemberCommand, UserCommand,
};
use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::echo::{echoed, is_invisible};
use crate::phone::PhoneNumber;
use crate::server::CommandKey;
use crate::store::{Account, DynStore, NewAccount, NewApiKey, NewUser, Role, StoreError, User};

/// Maximum key lifetime `pons key create` accepts, in days (about 100 years).
const MAX_KEY_DAYS: u32 = 36_500;

/// Store and cipher for one administration command.
pub struct Admin {
    pub store: DynStore,
    /// The key as [`crate::server::open_for`] left it. A missing key file
    /// is created by the first call of [`Admin::secrets`], which a command
    /// makes once its own checks have passed.
    pub key: CommandKey,
    pub settings: Settings,
}

impl Admin {
    /// Returns the cipher of a command that stores secrets, creating the
    /// key file first when it is missing.
    async fn secrets(&mut self) -> anyhow::Result<SecretBox> {
        let secrets = match std::mem::replace(&mut self.key, CommandKey::Absent) {
            CommandKey::Checked(secrets) => *secrets,
            CommandKey::Missing(new_key) => new_key.create(&self.store).await?,
            CommandKey::Absent => bail!(
                "this command was opened without the encryption key, but it stores secrets; \
                 this is a bug in Pons"
            ),
        };
        self.key = CommandKey::Checked(Box::new(secrets.clone()));
        Ok(secrets)
    }

    /// Tells whether the command's key is the database's key. A key that
    /// is still to be created is not.
    async fn has_database_key(&self) -> anyhow::Result<bool> {
        match &self.key {
            CommandKey::Checked(secrets) => {
                crate::key_check::is_database_key(&self.store, secrets).await
            }
            CommandKey::Missing(_) | CommandKey::Absent => Ok(false),
        }
    }

    pub async fn user(&self, command: UserCommand) -> anyhow::Result<()> {
        let UserCommand::Add {
            email,
            password_stdin,
        } = command;
        let email = parse_email(&email)?;
        let password_hash = if password_stdin {
            let password =
                read_stdin_line().context("cannot read the password from standard input")?;
            if password.len() < 8 {
                bail!("password too short: use at least 8 characters");
            }
            let salt = SaltString::generate(&mut OsRng);
            let hash = argon2::Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map_err(|err| anyhow!("cannot hash the password: {err}"))?;
            Some(hash.to_string())
        } else {
            None
        };
        let user = self
            .store
            .create_user(NewUser {
                email,
                password_hash,
            })
            .await?;
        println!("{}", user.id);
        eprintln!("created user {}", user.email);
        Ok(())
    }

    pub async fn account(&mut self, command: AccountCommand) -> anyhow::Result<()> {
        match command {
            AccountCommand::Add(args) => self.add_account(*args).await,
            AccountCommand::List => self.list_accounts().await,
            AccountCommand::SetCredentials {
                account,
                access_token_file,
                app_secret_file,
                key_lost: _,
            } => {
                self.set_credentials(&account, access_token_file, app_secret_file)
                    .await
            }
        }
    }

    async fn add_account(&mut self, args: AccountAddArgs) -> anyhow::Result<()> {
        // The arguments are checked before the database, so that one run
        // reports what is wrong with them.
        let phone = PhoneNumber::parse(&args.phone_number)?;
        if args.name.trim().is_empty() {
            bail!("--name cannot be empty; give the number a name such as \"Shop\"");
        }
        check_name(&args.name, "Shop")?;
        if args.access_token_file == args.app_secret_file
            && args.access_token_file == Path::new("-")
        {
            bail!(
                "--access-token-file and --app-secret-file cannot both read standard input; put one in a file"
            );
        }
        let access_token = read_secret(&args.access_token_file, "--access-token-file")?;
        let app_secret = read_secret(&args.app_secret_file, "--app-secret-file")?;
        for (flag, value) in [
            ("--waba-id", &args.waba_id),
            ("--phone-number-id", &args.phone_number_id),
        ] {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                bail!(
                    "invalid {flag} {value:?}: Meta's ids are digits, copy it from the WhatsApp API setup page"
                );
            }
            if value.len() > MAX_META_ID_DIGITS {
                bail!(
                    "invalid {flag}: {} digits is longer than Meta's ids, which have at most \
                     {MAX_META_ID_DIGITS}; copy it from the WhatsApp API setup page",
                    value.len()
                );
            }
        }
        let verify_token = match args.verify_token {
            Some(token) if token.trim().is_empty() => bail!("--verify-token cannot be empty"),
            Some(token) => token,
            None => random_token(),
        };
        let owner = self.user_by_email(&args.owner).await?;
        if let Some(existing) = self.store.find_account(phone.digits()).await? {
            bail!(
                "phone number {phone} is already connected as account {} ({}); one number has \
                 one phone number id at Meta, so connect it once",
                existing.id,
                existing.name
            );
        }
        // Every check that can fail ran above, so a rejected command leaves
        // no new key file behind.
        let secrets = self.secrets().await?;

        let account = self
            .store
            .create_account(NewAccount {
                name: args.name,
                waba_id: args.waba_id,
                phone_number_id: args.phone_number_id,
                phone_number: phone.digits().to_owned(),
                display_name: args.display_name,
                access_token_encrypted: secrets.encrypt(access_token.as_bytes()),
                app_secret_encrypted: secrets.encrypt(app_secret.as_bytes()),
                verify_token: verify_token.clone(),
                owner: owner.id,
            })
            .await?;
        println!("account id:    {}", account.id);
        println!(
            "webhook URL:   {}/api/webhook",
            self.settings.server.public_url
        );
        println!("verify token:  {verify_token}");
        eprintln!(
            "Paste the webhook URL and verify token into your Meta app (WhatsApp > Configuration), \
             then subscribe to the messages field."
        );
        Ok(())
    }

    async fn set_credentials(
        &mut self,
        reference: &str,
        access_token_file: Option<PathBuf>,
        app_secret_file: Option<PathBuf>,
    ) -> anyhow::Result<()> {
        let account = self.account_by_ref(reference).await?;
        if access_token_file.is_none() && app_secret_file.is_none() {
            bail!("nothing to change: give --access-token-file, --app-secret-file or both");
        }
        if access_token_file.is_some()
            && access_token_file == app_secret_file
            && access_token_file.as_deref() == Some(Path::new("-"))
        {
            bail!(
                "--access-token-file and --app-secret-file cannot both read standard input; \
                 put one in a file"
            );
        }
        let read = |path: Option<PathBuf>, flag: &str| -> anyhow::Result<_> {
            path.map(|path| read_secret(&path, flag)).transpose()
        };
        let token = read(access_token_file, "--access-token-file")?;
        let secret = read(app_secret_file, "--app-secret-file")?;
        let replaced_both = token.is_some() && secret.is_some();
        // Replacing both secrets may move the key verifier to this key (see
        // below), and a running server would keep the old one. Held until
        // the verifier is moved. It is taken before a missing key file is
        // created, so that a rejected command leaves no new key file.
        let _key_change_lock = if replaced_both && !self.has_database_key().await? {
            Some(
                crate::data_dir_lock::lock_key_change(
                    &self.settings.data_dir,
                    &self.settings.database_url,
                    "pons account set-credentials",
                )
                .await?,
            )
        } else {
            None
        };
        let secrets = self.secrets().await?;
        let token = token.map(|token| secrets.encrypt(token.as_bytes()));
        let secret = secret.map(|secret| secrets.encrypt(secret.as_bytes()));
        self.store
            .update_account_secrets(&account.id, token, secret)
            .await?;
        eprintln!(
            "updated credentials of +{} ({})",
            account.phone_number, account.name
        );
        // Replacing both secrets skipped the key verifier check, because
        // this is how an account under a lost key is recovered. With the
        // account now under this key, the verifier follows it once no other
        // account is under another key, which `--key-lost` allows.
        if replaced_both {
            self.adopt_key_or_list_remaining(&secrets).await?;
        }
        Ok(())
    }

    /// Makes the configured key the database's key when every account's
    /// secrets decrypt with it. Otherwise it prints the accounts still
    /// under another key and the command that stores each one again, and
    /// leaves the key verifier as it is.
    async fn adopt_key_or_list_remaining(&mut self, secrets: &SecretBox) -> anyhow::Result<()> {
        let key_file = &self.settings.encryption_key_file;
        let remaining = crate::key_check::undecryptable_accounts(&self.store, secrets).await?;
        if remaining.is_empty() {
            self.adopt_key().await?;
            return Ok(());
        }
        let accounts: Vec<&Account> = remaining.iter().map(|u| &u.account).collect();
        eprintln!(
            "{} account(s) still have secrets that encryption key file {} cannot decrypt: {}. \
             `pons serve` and the other commands reject this key until each of them has its \
             credentials stored again with `pons account set-credentials --account PHONE \
             --key-lost --access-token-file PATH --app-secret-file PATH`; the last of these \
             commands makes this key the database's key",
            accounts.len(),
            key_file.display(),
            crate::key_check::describe_all(accounts.iter().copied())
        );
        Ok(())
    }

    pub async fn encryption_key(&mut self, command: EncryptionKeyCommand) -> anyhow::Result<()> {
        match command {
            EncryptionKeyCommand::Adopt => {
                if !self.adopt_key().await? {
                    eprintln!(
                        "encryption key file {} is already this database's key; nothing changed",
                        self.settings.encryption_key_file.display()
                    );
                }
                Ok(())
            }
        }
    }

    /// Makes the configured key the database's key, and prints a note when
    /// that replaced the key verifier. Returns whether it did.
    async fn adopt_key(&mut self) -> anyhow::Result<bool> {
        let secrets = self.secrets().await?;
        let key_file = &self.settings.encryption_key_file;
        let adopted = crate::key_check::adopt_key(&self.store, &secrets, key_file).await?;
        if adopted {
            eprintln!(
                "encryption key file {} is now this database's key; every Pons instance and \
                 administration command on this database must use it",
                key_file.display()
            );
        }
        Ok(adopted)
    }

    async fn list_accounts(&self) -> anyhow::Result<()> {
        let accounts = self.store.list_accounts().await?;
        if accounts.is_empty() {
            eprintln!("no accounts yet; add one with `pons account add`");
            return Ok(());
        }
        let rows = accounts
            .into_iter()
            .map(|a| {
                let token = if a.token_invalid_at.is_some() {
                    "needs-new"
                } else {
                    "ok"
                };
                vec![
                    a.id.to_string(),
                    format!("+{}", a.phone_number),
                    a.phone_number_id,
                    a.waba_id,
                    token.to_owned(),
                    a.name,
                ]
            })
            .collect::<Vec<_>>();
        let headers = ["ID", "PHONE", "PHONE NUMBER ID", "WABA ID", "TOKEN", "NAME"];
        print!("{}", aligned(&headers, &rows));
        Ok(())
    }

    pub async fn member(&self, command: MemberCommand) -> anyhow::Result<()> {
        match command {
            MemberCommand::Add {
                account,
                user,
                role,
            } => self.add_member(&account, &user, &role).await,
            MemberCommand::Remove { account, user } => self.remove_member(&account, &user).await,
            MemberCommand::List { account } => self.list_members(&account).await,
        }
    }

    async fn add_member(&self, account: &str, email: &str, role: &str) -> anyhow::Result<()> {
        let role = Role::parse(role)
            .ok_or_else(|| anyhow!("invalid --role {role:?}: use owner, admin or member"))?;
        let account = self.account_by_ref(account).await?;
        let user = self.user_by_email(email).await?;
        match self.store.upsert_member(&account.id, &user.id, role).await {
            Ok(()) => {}
            Err(StoreError::Invalid(_)) => {
                return Err(Self::only_owner(&account, &user, "change the role of"));
            }
            Err(err) => return Err(err.into()),
        }
        eprintln!(
            "{} is now {} of +{}",
            user.email,
            role.as_str(),
            account.phone_number
        );
        Ok(())
    }

    async fn remove_member(&self, account: &str, email: &str) -> anyhow::Result<()> {
        let account = self.account_by_ref(account).await?;
        let user = self.user_by_email(email).await?;
        match self.store.remove_member(&account.id, &user.id).await {
            Ok(()) => {}
            Err(StoreError::Invalid(_)) => return Err(Self::only_owner(&account, &user, "remove")),
            Err(StoreError::NotFound(_)) => bail!(
                "{} is not a member of +{}; `pons member list --account +{}` shows its members",
                user.email,
                account.phone_number,
                account.phone_number
            ),
            Err(err) => return Err(err.into()),
        }
        eprintln!(
            "{} no longer has access to +{}",
            user.email, account.phone_number
        );
        Ok(())
    }

    /// Explains the store's refusal to leave `account` without an owner.
    fn only_owner(account: &Account, user: &User, action: &str) -> anyhow::Error {
        anyhow!(
            "cannot {action} {}: they are the only owner of +{}; make another member owner \
             first with `pons member add --account +{} --user EMAIL --role owner`",
            user.email,
            account.phone_number,
            account.phone_number
        )
    }

    async fn list_members(&self, account: &str) -> anyhow::Result<()> {
        let account = self.account_by_ref(account).await?;
        let members = self.store.list_members(&account.id).await?;
        let rows = members
            .into_iter()
            .map(|m| {
                vec![
                    m.user.email,
                    m.role.as_str().to_owned(),
                    date(Some(m.since)),
                ]
            })
            .collect::<Vec<_>>();
        print!("{}", aligned(&["EMAIL", "ROLE", "SINCE"], &rows));
        Ok(())
    }

    pub async fn key(&self, command: KeyCommand) -> anyhow::Result<()> {
        match command {
            KeyCommand::Create {
                user,
                name,
                scopes,
                expires_in_days,
                accounts,
            } => {
                self.create_key(&user, name, &scopes, expires_in_days, &accounts)
                    .await
            }
            KeyCommand::List => self.list_keys().await,
            KeyCommand::Revoke { key } => self.revoke_key(&key).await,
        }
    }

    /// Revokes the key named by its display prefix, its id or its whole text.
    async fn revoke_key(&self, reference: &str) -> anyhow::Result<()> {
        // Text pasted from a terminal often carries spaces or a line break.
        let reference = reference.trim();
        if apikey::check_format(reference).is_err() && looks_like_whole_key(reference) {
            // Most of a key is still a secret, so the error does not repeat it.
            bail!(
                "the key given is not a valid API key (mistyped or cut short); pass the \
                 whole key as `pons key create` printed it, or a PREFIX shown by `pons key list`"
            );
        }
        let id_or_prefix = if apikey::check_format(reference).is_ok() {
            // A whole key is looked up by its hash, as authentication does,
            // and errors do not repeat it because it is a secret.
            match self
                .store
                .find_api_key_by_hash(&apikey::hash(reference))
                .await?
            {
                Some(row) => row.id.as_str().to_owned(),
                None => bail!(
                    "no stored API key matches the key given; `pons key list` shows the \
                     prefixes of the stored keys"
                ),
            }
        } else {
            reference.to_owned()
        };
        let revoked = match self
            .store
            .revoke_api_key(&id_or_prefix, Utc::now().timestamp())
            .await
        {
            Ok(revoked) => revoked,
            Err(StoreError::NotFound(what)) => bail!(
                "{what} not found; pass a PREFIX shown by `pons key list`, a key id or the whole key"
            ),
            Err(err) => return Err(err.into()),
        };
        eprintln!("revoked key {} ({})", revoked.prefix, revoked.name);
        Ok(())
    }

    async fn create_key(
        &self,
        email: &str,
        name: String,
        scopes: &str,
        expires_in_days: Option<u32>,
        accounts: &[String],
    ) -> anyhow::Result<()> {
        let user = self.user_by_email(email).await?;
        if name.trim().is_empty() {
            bail!("--name cannot be empty; name the key after its client, e.g. \"Claude Desktop\"");
        }
        check_name(&name, "Claude Desktop")?;
        let scopes = Scopes::parse(scopes).map_err(|err| anyhow!("invalid --scopes: {err}"))?;
        if scopes.names().is_empty() {
            bail!("--scopes is empty: give at least one of read, write, send");
        }
        if let Some(days) = expires_in_days
            && !(1..=MAX_KEY_DAYS).contains(&days)
        {
            bail!(
                "--expires-in-days {days} is out of range: give 1 to {MAX_KEY_DAYS} days, or \
                 leave it out for a key that does not expire"
            );
        }
        let member_of = self.store.reachable_accounts(&user.id, &[]).await?;
        let mut limited = Vec::new();
        for reference in accounts {
            let account = self.account_by_ref(reference).await?;
            if !member_of.iter().any(|a| a.id == account.id) {
                bail!(
                    "{email} is not a member of account +{} ({}), so a key limited to it could \
                     reach nothing; add the member first with `pons member add`",
                    account.phone_number,
                    account.name
                );
            }
            limited.push(account.id);
        }
        let key = apikey::generate();
        let expires_at =
            expires_in_days.map(|days| Utc::now().timestamp() + i64::from(days) * 86_400);
        let row = self
            .store
            .create_api_key(NewApiKey {
                user_id: user.id,
                name,
                key_hash: key.hash,
                prefix: key.prefix,
                scopes: scopes.names(),
                expires_at,
                accounts: limited,
            })
            .await?;
        println!("{}", key.text);
        eprintln!(
            "created key {} ({}) with scopes {}; copy it now, it is not shown again",
            row.prefix,
            row.name,
            row.scopes.join(",")
        );
        Ok(())
    }

    async fn list_keys(&self) -> anyhow::Result<()> {
        let keys = self.store.list_api_keys().await?;
        let now = Utc::now().timestamp();
        let rows = keys
            .into_iter()
            .map(|k| {
                let state = match (k.revoked_at, k.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(at)) if at <= now => "expired",
                    _ => "active",
                };
                let accounts = if k.accounts.is_empty() {
                    "all".to_owned()
                } else {
                    k.accounts.len().to_string()
                };
                vec![
                    k.prefix,
                    k.name,
                    k.user_email,
                    k.scopes.join(","),
                    accounts,
                    date(Some(k.created_at)),
                    date(k.last_used_at),
                    date(k.expires_at),
                    state.to_owned(),
                ]
            })
            .collect::<Vec<_>>();
        let headers = [
            "PREFIX",
            "NAME",
            "USER",
            "SCOPES",
            "ACCOUNTS",
            "CREATED",
            "LAST USED",
            "EXPIRES",
            "STATE",
        ];
        print!("{}", aligned(&headers, &rows));
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> anyhow::Result<User> {
        self.store.find_user_by_email(email).await?.ok_or_else(|| {
            let email = echoed(email);
            anyhow!("user \"{email}\" not found; create it with `pons user add {email}`")
        })
    }

    async fn account_by_ref(&self, reference: &str) -> anyhow::Result<Account> {
        let found = find_account_by_ref(&self.store, reference).await?;
        found.ok_or_else(|| {
            anyhow!(
                "account \"{}\" not found; `pons account list` shows ids and numbers",
                echoed(reference)
            )
        })
    }
}

/// Finds the account that `reference` names by id or by phone number in
/// any format that [`PhoneNumber::parse`] accepts.
pub(crate) async fn find_account_by_ref(
    store: &DynStore,
    reference: &str,
) -> anyhow::Result<Option<Account>> {
    let by_id = store.find_account(reference).await?;
    let found = match (by_id, PhoneNumber::parse(reference)) {
        (Some(account), _) => Some(account),
        (None, Ok(phone)) => store.find_account(phone.digits()).await?,
        (None, Err(_)) => None,
    };
    Ok(found)
}

/// Maximum length of an email address in characters: the 256 octets of a
/// path in RFC 5321, less its angle brackets.
const MAX_EMAIL_CHARS: usize = 254;
/// Maximum length of an account's or an API key's `--name` in characters.
/// An account's name is in every tool result, so it stays short.
const MAX_NAME_CHARS: usize = 100;

fn parse_email(email: &str) -> anyhow::Result<String> {
    let email = email.trim();
    let length = email.chars().count();
    if length > MAX_EMAIL_CHARS {
        bail!(
            "invalid email \"{}\": it is {length} characters long, but an email address has \
             at most {MAX_EMAIL_CHARS} (RFC 5321); use a shorter address",
            echoed(email)
        );
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && email.chars().all(|c| !c.is_whitespace() && !c.is_control())
        }
        None => false,
    };
    if !valid {
        bail!(
            "invalid email \"{}\": expected name@example.com",
            echoed(email)
        );
    }
    Ok(email.to_owned())
}

/// Maximum length of an access token or app secret, in characters.
// NOTE: an assumed, generous cap, because Meta documents no maximum.
// Access tokens are usually a few hundred characters and app secrets 32.
const MAX_CREDENTIAL_LEN: usize = 4096;
/// Maximum digits of a WABA id or phone number id.
// NOTE: an assumed cap. Meta's ids seen in its documentation have 15 to 17
// digits; 32 leaves room for longer ones while stopping pasted garbage.
const MAX_META_ID_DIGITS: usize = 32;

/// Maximum bytes read from a credential file, so that a wrong file such as
/// a log or a device does not fill the memory. Surrounding whitespace
/// beyond this is taken as a value that is too long.
const MAX_CREDENTIAL_FILE_BYTES: u64 = 64 * 1024;

/// Reads an access token or app secret from a file or, for `-`, from
/// standard input, without surrounding whitespace (Unicode `White_Space`).
/// Rejects a value that is not visible ASCII without spaces, or longer than
/// [`MAX_CREDENTIAL_LEN`], because Meta's credentials are such text and
/// another byte would break the `Authorization` header at the first send.
fn read_secret(path: &Path, flag: &str) -> anyhow::Result<Zeroizing<String>> {
    let source = if path == Path::new("-") {
        format!("{flag} - (standard input)")
    } else {
        format!("{flag} {}", path.display())
    };
    let mut bytes = Zeroizing::new(Vec::new());
    let read = if path == Path::new("-") {
        if std::io::stdin().is_terminal() {
            eprintln!("paste the value of {flag}, then press Enter and Ctrl-D");
        }
        std::io::stdin()
            .lock()
            .take(MAX_CREDENTIAL_FILE_BYTES)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_CREDENTIAL_FILE_BYTES).read_to_end(&mut bytes))
    };
    read.with_context(|| format!("cannot read {source}"))?;
    if bytes.len() as u64 >= MAX_CREDENTIAL_FILE_BYTES {
        bail!(
            "{source} is {MAX_CREDENTIAL_FILE_BYTES} bytes or longer, but an access token or app \
             secret is at most {MAX_CREDENTIAL_LEN} characters; put only the token or secret in \
             the file"
        );
    }
    let text = std::str::from_utf8(&bytes).map_err(|error| {
        anyhow::anyhow!(
            "{source} is not UTF-8 text (invalid byte at offset {}); put only the token or \
             secret in the file, as Meta shows it",
            error.valid_up_to()
        )
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        bail!("{flag} {} is empty", path.display());
    }
    let start = text.len() - text.trim_start().len();
    check_credential_text(trimmed, start).map_err(|problem| {
        anyhow::anyhow!(
            "{source} {problem}, but an access token or app secret is visible ASCII text \
             without spaces of at most {MAX_CREDENTIAL_LEN} characters; put only the token or \
             secret in the file, on one line, as Meta shows it"
        )
    })?;
    Ok(Zeroizing::new(trimmed.to_owned()))
}

/// Checks that `value`, found at byte offset `start` of its file, is
/// visible ASCII without spaces and at most [`MAX_CREDENTIAL_LEN`]
/// characters long. The error names the first other character, escaped,
/// and its offset, or the length, never the value.
fn check_credential_text(value: &str, start: usize) -> Result<(), String> {
    if let Some((offset, bad)) = value.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
        return Err(format!(
            "contains the character '{}' at byte offset {}",
            bad.escape_default(),
            start + offset
        ));
    }
    if value.len() > MAX_CREDENTIAL_LEN {
        return Err(format!("is {} characters long", value.len()));
    }
    Ok(())
}

fn read_stdin_line() -> std::io::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

/// Returns whether `reference` is longer than a display prefix and starts
/// like a key, so it is more of a key's text than `pons key list` shows.
fn looks_like_whole_key(reference: &str) -> bool {
    reference.len() > apikey::DISPLAY_PREFIX_LEN && reference.starts_with(apikey::KEY_PREFIX)
}

/// Rejects a `--name` longer than [`MAX_NAME_CHARS`] or with control or
/// invisible characters, which would break the tables of `pons key list`
/// and `pons account list`, reverse their text, or send escape sequences
/// to the terminal that shows them.
fn check_name(name: &str, example: &str) -> anyhow::Result<()> {
    let length = name.chars().count();
    if length > MAX_NAME_CHARS {
        bail!(
            "--name \"{}\" is {length} characters long, but a name has at most \
             {MAX_NAME_CHARS}; use a short name such as \"{example}\"",
            echoed(name)
        );
    }
    if name.chars().any(is_invisible) {
        bail!(
            "--name \"{}\" contains an invisible or control character such as a line break, \
             tab or direction override; use plain text such as \"{example}\"",
            echoed(name)
        );
    }
    Ok(())
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Lays out a table with each column as wide as its widest cell and two
/// spaces between columns, one line per row after the header line.
fn aligned(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (index, (cell, width)) in cells.into_iter().zip(&widths).enumerate() {
            text.push_str(cell);
            if index < last {
                let padding = width - cell.chars().count() + 2;
                text.extend(std::iter::repeat_n(' ', padding));
            }
        }
        text.push('\n');
        text
    };
    let mut table = line(headers.to_vec());
    for row in rows {
        table.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    table
}

fn date(at: Option<i64>) -> String {
    at.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::{aligned, parse_email};

    #[test]
    fn aligned_columns_fit_widest_cell() {
        let rows = vec![
            vec![
                "a".to_owned(),
                "pons demo 2026-12-05 12:58:27".to_owned(),
                "x".to_owned(),
            ],
            vec!["bb".to_owned(), "short".to_owned(), "y".to_owned()],
        ];
        let table = aligned(&["ID", "NAME", "STATE"], &rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "ID  NAME                           STATE");
        assert_eq!(lines[1], "a   pons demo 2026-12-05 12:58:27  x");
        assert_eq!(lines[2], "bb  short                          y");
    }

    #[test]
    fn parse_email_accepts_plain_addresses() {
        assert_eq!(parse_email(" ana@example.com ").unwrap(), "ana@example.com");
        assert!(parse_email("first.last+tag@sub.example.org").is_ok());
    }

    #[test]
    fn parse_email_rejects_malformed() {
        for bad in [
            "a@@b.c",
            "a@.",
            "a@b",
            "@example.com",
            "a b@example.com",
            "a@ex..com",
            "a\u{1b}[31m@example.com",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?} must be rejected");
        }
    }
}
