{#- Addresses with their state/province and country: the geography of every address. -#}
with

addresses as (

    select * from {{ ref('stg_person__addresses') }}

),

state_provinces as (

    select * from {{ ref('stg_person__state_provinces') }}

),

country_regions as (

    select * from {{ ref('stg_person__country_regions') }}

),

joined as (

    select
        addresses.address_id,
        addresses.address_line_1,
        addresses.address_line_2,
        addresses.city,
        addresses.postal_code,
        addresses.state_province_id,
        state_provinces.state_province_code,
        state_provinces.state_province_name,
        state_provinces.country_code,
        country_regions.country_name

    from addresses
    left join state_provinces
        on addresses.state_province_id = state_provinces.state_province_id
    left join country_regions
        on state_provinces.country_code = country_regions.country_code

)

select * from joined
