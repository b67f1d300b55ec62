-- AdventureWorks OLTP, the 12 tables adw replicates, as in the PostgreSQL port
-- (lorint/AdventureWorks-for-Postgres): lowercase names, same columns and order.
-- Deviations, on purpose: the port's domains (Name, Flag, ...) are written as their base
-- types, and money columns are numeric(19,4) (SQL Server's money) instead of unbounded
-- numeric, so they replicate as exact decimals to DuckDB and BigQuery.
-- Foreign keys are kept where both ends are among these 12 tables.

create schema if not exists person;
create schema if not exists production;
create schema if not exists sales;

create table person.countryregion (
    countryregioncode varchar(3) not null,
    name varchar(50) not null,
    modifieddate timestamp not null default now(),
    constraint pk_countryregion_countryregioncode primary key (countryregioncode)
);

create table person.stateprovince (
    stateprovinceid serial not null,
    stateprovincecode char(3) not null,
    countryregioncode varchar(3) not null,
    isonlystateprovinceflag boolean not null default true,
    name varchar(50) not null,
    territoryid integer not null,
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_stateprovince_stateprovinceid primary key (stateprovinceid),
    constraint fk_stateprovince_countryregion_countryregioncode
        foreign key (countryregioncode) references person.countryregion (countryregioncode)
);

create table person.address (
    addressid serial not null,
    addressline1 varchar(60) not null,
    addressline2 varchar(60),
    city varchar(30) not null,
    stateprovinceid integer not null,
    postalcode varchar(15) not null,
    spatiallocation varchar(44),
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_address_addressid primary key (addressid),
    constraint fk_address_stateprovince_stateprovinceid
        foreign key (stateprovinceid) references person.stateprovince (stateprovinceid)
);

create table person.person (
    businessentityid integer not null,
    persontype char(2) not null,
    namestyle boolean not null default false,
    title varchar(8),
    firstname varchar(50) not null,
    middlename varchar(50),
    lastname varchar(50) not null,
    suffix varchar(10),
    emailpromotion integer not null default 0,
    additionalcontactinfo xml,
    demographics xml,
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_person_businessentityid primary key (businessentityid),
    constraint ck_person_emailpromotion check (emailpromotion between 0 and 2),
    constraint ck_person_persontype
        check (persontype in ('GC', 'SP', 'EM', 'IN', 'VC', 'SC'))
);

create table production.productcategory (
    productcategoryid serial not null,
    name varchar(50) not null,
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_productcategory_productcategoryid primary key (productcategoryid)
);

create table production.productsubcategory (
    productsubcategoryid serial not null,
    productcategoryid integer not null,
    name varchar(50) not null,
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_productsubcategory_productsubcategoryid primary key (productsubcategoryid),
    constraint fk_productsubcategory_productcategory_productcategoryid
        foreign key (productcategoryid) references production.productcategory (productcategoryid)
);

create table production.product (
    productid serial not null,
    name varchar(50) not null,
    productnumber varchar(25) not null,
    makeflag boolean not null default true,
    finishedgoodsflag boolean not null default true,
    color varchar(15),
    safetystocklevel smallint not null,
    reorderpoint smallint not null,
    standardcost numeric(19, 4) not null,
    listprice numeric(19, 4) not null,
    size varchar(5),
    sizeunitmeasurecode char(3),
    weightunitmeasurecode char(3),
    weight numeric(8, 2),
    daystomanufacture integer not null,
    productline char(2),
    class char(2),
    style char(2),
    productsubcategoryid integer,
    productmodelid integer,
    sellstartdate timestamp not null,
    sellenddate timestamp,
    discontinueddate timestamp,
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_product_productid primary key (productid),
    constraint fk_product_productsubcategory_productsubcategoryid
        foreign key (productsubcategoryid)
        references production.productsubcategory (productsubcategoryid),
    constraint ck_product_listprice check (listprice >= 0.00),
    constraint ck_product_standardcost check (standardcost >= 0.00)
);

create table sales.creditcard (
    creditcardid serial not null,
    cardtype varchar(50) not null,
    cardnumber varchar(25) not null,
    expmonth smallint not null,
    expyear smallint not null,
    modifieddate timestamp not null default now(),
    constraint pk_creditcard_creditcardid primary key (creditcardid)
);

create table sales.store (
    businessentityid integer not null,
    name varchar(50) not null,
    salespersonid integer,
    demographics xml,
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_store_businessentityid primary key (businessentityid)
);

create table sales.customer (
    customerid serial not null,
    personid integer,
    storeid integer,
    territoryid integer,
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_customer_customerid primary key (customerid),
    constraint fk_customer_person_personid
        foreign key (personid) references person.person (businessentityid),
    constraint fk_customer_store_storeid
        foreign key (storeid) references sales.store (businessentityid)
);

create table sales.salesorderheader (
    salesorderid serial not null,
    revisionnumber smallint not null default 0,
    orderdate timestamp not null default now(),
    duedate timestamp not null,
    shipdate timestamp,
    status smallint not null default 1,
    onlineorderflag boolean not null default true,
    purchaseordernumber varchar(25),
    accountnumber varchar(15),
    customerid integer not null,
    salespersonid integer,
    territoryid integer,
    billtoaddressid integer not null,
    shiptoaddressid integer not null,
    shipmethodid integer not null,
    creditcardid integer,
    creditcardapprovalcode varchar(15),
    currencyrateid integer,
    subtotal numeric(19, 4) not null default 0.00,
    taxamt numeric(19, 4) not null default 0.00,
    freight numeric(19, 4) not null default 0.00,
    totaldue numeric(19, 4),
    comment varchar(128),
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_salesorderheader_salesorderid primary key (salesorderid),
    constraint fk_salesorderheader_customer_customerid
        foreign key (customerid) references sales.customer (customerid),
    constraint fk_salesorderheader_address_billtoaddressid
        foreign key (billtoaddressid) references person.address (addressid),
    constraint fk_salesorderheader_address_shiptoaddressid
        foreign key (shiptoaddressid) references person.address (addressid),
    constraint fk_salesorderheader_creditcard_creditcardid
        foreign key (creditcardid) references sales.creditcard (creditcardid),
    constraint ck_salesorderheader_status check (status between 0 and 8),
    constraint ck_salesorderheader_duedate check (duedate >= orderdate),
    constraint ck_salesorderheader_shipdate check (shipdate >= orderdate or shipdate is null),
    constraint ck_salesorderheader_subtotal check (subtotal >= 0.00),
    constraint ck_salesorderheader_taxamt check (taxamt >= 0.00),
    constraint ck_salesorderheader_freight check (freight >= 0.00)
);

create table sales.salesorderdetail (
    salesorderid integer not null,
    salesorderdetailid serial not null,
    carriertrackingnumber varchar(25),
    orderqty smallint not null,
    productid integer not null,
    specialofferid integer not null,
    unitprice numeric(19, 4) not null,
    unitpricediscount numeric(19, 4) not null default 0.0,
    rowguid uuid not null default gen_random_uuid(),
    modifieddate timestamp not null default now(),
    constraint pk_salesorderdetail_salesorderid_salesorderdetailid
        primary key (salesorderid, salesorderdetailid),
    constraint fk_salesorderdetail_salesorderheader_salesorderid
        foreign key (salesorderid) references sales.salesorderheader (salesorderid)
        on delete cascade,
    constraint fk_salesorderdetail_product_productid
        foreign key (productid) references production.product (productid),
    constraint ck_salesorderdetail_orderqty check (orderqty > 0),
    constraint ck_salesorderdetail_unitprice check (unitprice >= 0.00),
    constraint ck_salesorderdetail_unitpricediscount check (unitpricediscount >= 0.00)
);

-- Cursor-based replication reads "where modifieddate >= :cursor": index every cursor.
create index ix_countryregion_modifieddate on person.countryregion (modifieddate);
create index ix_stateprovince_modifieddate on person.stateprovince (modifieddate);
create index ix_address_modifieddate on person.address (modifieddate);
create index ix_person_modifieddate on person.person (modifieddate);
create index ix_productcategory_modifieddate on production.productcategory (modifieddate);
create index ix_productsubcategory_modifieddate on production.productsubcategory (modifieddate);
create index ix_product_modifieddate on production.product (modifieddate);
create index ix_creditcard_modifieddate on sales.creditcard (modifieddate);
create index ix_store_modifieddate on sales.store (modifieddate);
create index ix_customer_modifieddate on sales.customer (modifieddate);
create index ix_salesorderheader_modifieddate on sales.salesorderheader (modifieddate);
create index ix_salesorderdetail_modifieddate on sales.salesorderdetail (modifieddate);
