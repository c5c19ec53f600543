# Messages de la console web de gardien (français).
#
# Même format que console.en.ftl ; mêmes clés.

## Cadre
console = console
skip = Aller au contenu
nav-label = Console
nav-signins = Connexions
nav-versions = Versions des stratégies
role-reader = lecteur
role-admin = administrateur
sign-out = Se déconnecter
footer = Console gardien : les décisions sont calculées par le même évaluateur que le serveur et la ligne de commande.
back-home = Retour à la console
continue = Continuer

## Connexion
login-title = Connexion à la console gardien
login-token-heading = Jeton de l’API d’administration
login-token-hint = Un jeton de l’API d’administration ([admin] token_sha256 ou une entrée nommée [[admin.tokens]]) : son rôle, lecteur ou administrateur, est celui de la session. Le jeton de décision n’ouvre pas la console.
login-token-label = Jeton
login-submit = Se connecter
login-none-configured = Aucune méthode de connexion n’est configurée : renseignez un jeton [admin] ou [console.oidc] (voir docs/console.md).
oidc-sign-in = Se connecter avec
oidc-default-label = votre organisation
oidc-signed-in = Vous êtes connecté.

## Erreurs
error-title = Impossible
error-admin-only = Cette page est réservée aux administrateurs.
error-csrf = Le formulaire a été refusé : son jeton de sécurité manque ou n’est pas valide. Rechargez la page et réessayez.
error-bad-token = Ce jeton n’ouvre pas la console.
error-internal = Une erreur s’est produite ; le détail est dans le journal du serveur.
error-store = Le stockage ne répond pas ; réessayez dans un instant.
error-no-oidc = La connexion par un fournisseur d’identité n’est pas configurée.
error-oidc-refused = Le fournisseur d’identité ne vous a pas connecté.
error-oidc-state = Cette tentative de connexion est inconnue ou a expiré. Recommencez.
error-oidc-token = La réponse du fournisseur d’identité n’a pas pu être vérifiée.
error-rate-limited = Trop de tentatives de connexion depuis votre adresse ; attendez une minute et réessayez.
error-oidc-discovery = La configuration du fournisseur d’identité n’a pas pu être lue ; réessayez plus tard.
error-signout = La déconnexion a échoué : le stockage ne répond pas. Réessayez.
error-no-role = Votre compte n’a aucun rôle dans la console gardien.
error-no-signin = Aucune connexion n’a cet identifiant de corrélation.
error-not-replayable = Cette connexion ne peut pas être décidée à nouveau : sa requête ou sa version de stratégies n’est plus disponible.
error-no-version = Cette version des stratégies n’existe pas.
error-diff-query = Choisissez deux versions à comparer.
error-conflict = Les stratégies ont changé entre-temps ; rechargez la page et réessayez.

## Recherche
search-title = Connexions
search-user = Utilisateur
search-app = Application
search-result = Résultat
search-any = Tous
search-code = Code d’erreur
search-from = Depuis (UTC)
search-to = Jusqu’à (UTC)
search-correlation = Identifiant de corrélation
search-submit = Rechercher
search-none = Aucune connexion ne correspond.
search-older = Connexions plus anciennes
search-choose-user = Plusieurs utilisateurs correspondent ; choisissez-en un :
search-more-users = D’autres utilisateurs correspondent : tapez davantage du nom.
search-bad-before = La position de page n’est pas valide ; relancez la recherche.
search-caption = Connexions correspondantes, les plus récentes d’abord ({ $n })
search-bad-result = Le résultat doit être allow, challenge ou deny.
search-bad-code = Le code d’erreur doit être un nombre, par exemple 53003.
search-bad-time = Une heure s’écrit comme 2026-12-07T10:20 (UTC).
col-time = Heure (UTC)
decision-allow = Autorisée
decision-challenge = Vérification demandée
decision-deny = Refusée

## Une connexion
signin-title = Connexion
signin-summary = Résumé
signin-decision = Décision
signin-required = Contrôles requis
signin-ip = Adresse IP
signin-location = Pays ou région
signin-client = Application cliente
signin-device = Appareil
signin-version = Version des stratégies
signin-mismatch = Décidée à nouveau maintenant, cette connexion donne { $now } : la décision journalisée a été prise par un autre évaluateur ou avec d’autres données.
signin-user-saw = Ce que l’utilisateur a vu
signin-allowed = La connexion a été autorisée : l’utilisateur n’a vu aucune page.
signin-temporary = C’est probablement temporaire.
signin-structural = Cela ne changera pas de soi-même.
signin-policies = Stratégies
signin-minimal = Le détail des stratégies est masqué à votre niveau de divulgation.
signin-policy-n = Stratégie { $n }
signin-applies = s’applique
signin-not-applies = ne s’applique pas
signin-grant = Octroi
device-compliant = conforme
device-not-compliant = inscrit, non conforme
device-unregistered = non inscrit

## Conditions (noms what-if)
cond-users = Utilisateurs
cond-workloadIdentities = Identités de charge de travail
cond-application = Application
cond-userActions = Actions utilisateur
cond-authenticationContext = Contexte d’authentification
cond-devicePlatform = Plateforme de l’appareil
cond-devices = Filtre d’appareils
cond-clientApps = Applications clientes
cond-location = Emplacement
cond-signInRisk = Risque de connexion
cond-userRisk = Risque utilisateur
cond-insiderRisk = Risque interne
cond-authenticationFlow = Flux d’authentification
outcome-satisfied = remplie
outcome-notSatisfied = non remplie
outcome-notEnoughInformation = information insuffisante

## Et si
whatif-title = Et si
whatif-hint = La connexion journalisée, avec vos changements, décidée à nouveau par le même évaluateur.
whatif-country = Pays (2 lettres)
whatif-methods = Méthodes d’authentification effectuées
whatif-submit = Décider à nouveau
whatif-outcome = Résultat
whatif-back = Retour à la connexion journalisée
whatif-user-would-see = Ce que l’utilisateur verrait
whatif-allowed = La connexion serait autorisée : l’utilisateur ne verrait aucune page.
whatif-bad-ip = L’adresse IP n’est pas valide.
whatif-bad-country = Le pays s’écrit en deux lettres, par exemple FR.
whatif-bad-client = Application cliente inconnue.
whatif-bad-method = Méthode d’authentification inconnue.
whatif-bad-device = État d’appareil inconnu.
client-browser = Navigateur
client-mobileAppsAndDesktopClients = Application mobile ou de bureau
client-exchangeActiveSync = Exchange ActiveSync
client-other = Autre (protocole hérité)

## Versions
versions-title = Versions des stratégies
versions-caption = Chaque changement accepté, le plus récent d’abord
versions-version = Version
versions-author = Auteur
versions-summary = Changement
versions-action = Action
versions-current = En vigueur
versions-rollback = Revenir à la version
versions-diff-heading = Comparer deux versions
versions-from = Version de départ
versions-to = Version d’arrivée
versions-diff-submit = Comparer
diff-title = Ce qui change entre deux versions
diff-lead = Les connexions dont la décision change de la version { $from } à la version { $to }, calculées sur chaque classe de connexions que les deux ensembles de stratégies distinguent.
diff-policy-changes = Stratégies modifiées
diff-no-policy-change = Aucune stratégie ne diffère.
diff-changes = Décisions qui changent
diff-no-change = Aucune connexion ne change de décision.
diff-caused-by = Cause :
diff-back = Retour aux versions
rollback-title = Retour arrière effectué
rollback-done = La version { $restored } est de nouveau en vigueur, comme version { $version }.
